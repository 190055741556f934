/**
 * AT+SYSREG (read a register: `AT+SYSREG=0,<address>` → `+SYSREG:0x<hex>`) and AT+CIPSTAMAC
 * (query `+CIPSTAMAC:"aa:bb:cc:dd:ee:ff"`, set `AT+CIPSTAMAC="…"`). Only the eFuse MAC words are
 * modelled; every other register reads 0. Writing registers (`AT+SYSREG=1,…`) answers ERROR here.
 */
import { formatMac, parseMac } from '../unit-identity.js';
import type { CommandFamily } from './command-types.js';

export const sysregCommands: CommandFamily = [
  {
    name: '+SYSREG',
    set: (ctx, args) => {
      const direction = args.integer(0);
      const address = args.integer(1);
      if (args.count !== 2 || direction.kind !== 'ok' || direction.value !== 0 || address.kind !== 'ok' || address.value < 0 || address.value % 4 !== 0) return 'ERROR';
      const value = ctx.device.identity.readRegister(address.value);
      ctx.print(`+SYSREG:0x${value.toString(16).padStart(8, '0')}\r\n`);
      return 'OK';
    },
  },
];

export const stationMacCommands: CommandFamily = [
  {
    name: '+CIPSTAMAC',
    query: (ctx) => {
      ctx.print(`+CIPSTAMAC:"${formatMac(ctx.device.identity.stationMac)}"\r\n`);
      return 'OK';
    },
    set: (ctx, args) => {
      const text = args.string(0);
      const mac = text.kind === 'ok' ? parseMac(text.value) : undefined;
      // Bit 0 of the first byte set is a multicast address: the firmware refuses it.
      if (args.count !== 1 || !mac || (mac[0]! & 1) === 1) return 'ERROR';
      ctx.device.identity.stationMac = mac;
      return 'OK';
    },
  },
];
