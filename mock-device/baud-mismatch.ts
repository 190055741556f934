/**
 * What a UART receives when both ends disagree on the line settings: framing errors and junk.
 * Kept deliberately simple (each byte becomes 0x00 or 0xFF, never CR/LF) — enough for a host to
 * notice it switched too early or to the wrong rate.
 */
import type { UartConfig } from './commands/command-types.js';

export function lineSettingsMatch(hostBaudRate: number, module: UartConfig): boolean {
  return hostBaudRate === module.baudRate && module.dataBits === 8 && module.parity === 0 && module.stopBits === 1;
}

export function garble(bytes: Uint8Array): Buffer {
  const out = Buffer.alloc(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = bytes[i]! & 0x10 ? 0xff : 0x00;
  return out;
}
