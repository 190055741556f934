import { Option, type Command } from 'commander';
import { UsageError } from '../errors.js';
import { addJsonOption, type JsonOption } from './output.js';

/** Options every command that talks to a module takes. */
export interface DeviceOptions extends JsonOption {
  /** Port URL: a device path, tcp://host:port or mock://<chip>. */
  port: string;
  /** Line rate. @default 115200 */
  baud?: string;
  /** Time allowed for each answer of the module, in ms. @default 3000 */
  timeout?: string;
  /** Line rate for the transfer itself (AT+UART_CUR), back to --baud afterwards. */
  fastBaud?: string;
}

export const PORT_HELP = `
Ports:
  /dev/ttyUSB0, /dev/serial/by-id/...   a serial port (opened exclusively; DTR/RTS released so the module runs)
  tcp://HOST:PORT                       a raw serial-over-TCP server (ser2net and the like)
  mock://CHIP[?options]                 the built-in ESP-AT emulator (esp32, esp32c3, esp8266...),
                                        e.g. mock://esp32c3?fill=garbage&state=/tmp/flash.bin
  The port may also be given in the AT_PKI_PORT environment variable.`;

export function addDeviceOptions(command: Command): Command {
  command
    .addOption(new Option('-p, --port <url>', 'the module: a serial device, tcp://host:port or mock://chip').env('AT_PKI_PORT').makeOptionMandatory())
    .option('--baud <rate>', 'line rate in baud (default 115200)')
    .option('--timeout <ms>', 'time allowed for each answer of the module, in ms (default 3000)')
    .option(
      '--fast-baud <rate>',
      'switch the line to <rate> for the transfer (AT+UART_CUR, not saved) and back to --baud afterwards, also after a failure; ' +
        'stays at --baud with a warning if the port or the module cannot do it (serial ports and mock:// only)',
    );
  addJsonOption(command);
  command.addHelpText('after', PORT_HELP);
  return command;
}

export function parseBaud(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const baud = parseWholeNumber(value, '--baud');
  if (baud < 300 || baud > 5_000_000) throw new UsageError(`--baud must be between 300 and 5000000, got ${value}`);
  return baud;
}

export function parseFastBaud(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const baud = parseWholeNumber(value, '--fast-baud');
  if (baud < 300 || baud > 5_000_000) throw new UsageError(`--fast-baud must be between 300 and 5000000, got ${value}`);
  return baud;
}

export function parseTimeout(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = parseWholeNumber(value, '--timeout');
  if (ms < 100) throw new UsageError(`--timeout is in milliseconds and must be at least 100, got ${value}`);
  return ms;
}

/** A whole number ≥ 0, decimal or 0x hex (as the firmware and partition tables write offsets). */
export function parseWholeNumber(value: string, what: string): number {
  const text = value.trim();
  const n = /^0x[0-9a-f]+$/i.test(text) ? Number.parseInt(text, 16) : /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n)) throw new UsageError(`${what} must be a whole number ≥ 0 (decimal or 0x hex), got '${value}'`);
  return n;
}
