/**
 * AT+UART_CUR (RAM-only UART settings, protocol doc §4): the OK goes out at the old baud rate,
 * the switch happens once it has drained. A restart returns to the boot baud rate.
 */
import { paramParseFailCode } from '../result-codes.js';
import type { CommandFamily, UartConfig } from './command-types.js';

const MIN_BAUD = 80;

export const uartCommands: CommandFamily = [
  {
    name: '+UART_CUR',
    query: (ctx) => {
      const c = ctx.device.uartConfig;
      ctx.print(`+UART_CUR:${c.baudRate},${c.dataBits},${c.stopBits},${c.parity},${c.flowControl}\r\n`);
      return 'OK';
    },
    set: (ctx, args) => {
      if (args.count !== 5) return 'ERROR';
      const values: number[] = [];
      for (let i = 0; i < 5; i++) {
        const p = args.integer(i);
        if (p.kind === 'invalid') ctx.printErrorCode(paramParseFailCode(i));
        if (p.kind !== 'ok') return 'ERROR';
        values.push(p.value);
      }
      const [baudRate, dataBits, stopBits, parity, flowControl] = values as [number, number, number, number, number];
      const valid =
        baudRate >= MIN_BAUD &&
        baudRate <= ctx.device.preset.maxBaudRate &&
        dataBits >= 5 && dataBits <= 8 &&
        stopBits >= 1 && stopBits <= 3 &&
        parity >= 0 && parity <= 2 &&
        flowControl >= 0 && flowControl <= 3;
      if (!valid) return 'ERROR';
      const config: UartConfig = { baudRate, dataBits, stopBits, parity, flowControl };
      ctx.afterResult(() => ctx.device.applyUartConfig(config));
      return 'OK';
    },
  },
];
