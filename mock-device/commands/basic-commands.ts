/**
 * Basic commands: AT, ATE0/ATE1, AT+GMR, AT+RST, AT+SYSLOG (protocol doc §1, §4).
 * Echo and SYSLOG are RAM-only flags: a restart puts them back to echo on, SYSLOG off.
 */
import { paramParseFailCode } from '../result-codes.js';
import type { CommandFamily } from './command-types.js';

export const basicCommands: CommandFamily = [
  { name: '', execute: () => 'OK' },
  {
    name: 'E0',
    execute: (ctx) => {
      ctx.device.echo = false;
      return 'OK';
    },
  },
  {
    name: 'E1',
    execute: (ctx) => {
      ctx.device.echo = true;
      return 'OK';
    },
  },
  {
    name: '+GMR',
    execute: (ctx) => {
      for (const line of ctx.device.preset.gmrLines) ctx.print(`${line}\r\n`);
      return 'OK';
    },
  },
  {
    name: '+RST',
    execute: (ctx) => {
      // OK goes out first, then the module restarts and later prints "ready".
      ctx.afterResult(() => ctx.device.restart());
      return 'OK';
    },
  },
  {
    name: '+SYSLOG',
    query: (ctx) => {
      ctx.print(`+SYSLOG:${ctx.device.syslog ? 1 : 0}\r\n`);
      return 'OK';
    },
    set: (ctx, args) => {
      const value = args.integer(0);
      if (value.kind === 'invalid') ctx.printErrorCode(paramParseFailCode(0));
      if (args.count !== 1 || value.kind !== 'ok' || (value.value !== 0 && value.value !== 1)) return 'ERROR';
      ctx.device.syslog = value.value === 1;
      return 'OK';
    },
  },
];
