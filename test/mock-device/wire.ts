/**
 * Test helper: talk raw bytes to an emulator and read back exactly what it put on the wire.
 * `exchange()` sends one chunk, waits until the emulator is idle (or waiting for raw data) and
 * returns everything it sent since the last read, as a latin1 string (binary-safe).
 */
import { EspAtEmulator } from '../../mock-device/emulator.js';
import type { EspAtEmulatorOptions } from '../../mock-device/emulator-options.js';

export class Wire {
  private received: Buffer[] = [];

  constructor(readonly emulator: EspAtEmulator) {
    emulator.on('data', (chunk) => this.received.push(chunk));
  }

  send(data: string | Uint8Array): void {
    this.emulator.receive(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  /** Everything received since the last take(), and forget it. */
  take(): Buffer {
    const out = Buffer.concat(this.received);
    this.received = [];
    return out;
  }

  /** Wait until the emulator settles, then take() as latin1. */
  async read(): Promise<string> {
    await this.emulator.whenIdle();
    return this.take().toString('latin1');
  }

  /** Send one chunk and return the complete reply (latin1). */
  async exchange(data: string | Uint8Array): Promise<string> {
    this.send(data);
    return this.read();
  }
}

/** A booted emulator (the `ready` already consumed) with a Wire attached. */
export async function bootedEmulator(options: EspAtEmulatorOptions = {}): Promise<Wire> {
  const wire = new Wire(new EspAtEmulator(options));
  const boot = await wire.read();
  if (boot !== '\r\nready\r\n') throw new Error(`unexpected boot output ${JSON.stringify(boot)}`);
  return wire;
}

/** As bootedEmulator, then ATE0 (and optionally AT+SYSLOG=1), so replies carry no echo. */
export async function quietEmulator(options: EspAtEmulatorOptions = {}, syslog = false): Promise<Wire> {
  const wire = await bootedEmulator(options);
  if ((await wire.exchange('ATE0\r\n')) !== 'ATE0\r\n\r\nOK\r\n') throw new Error('ATE0 failed');
  if (syslog && (await wire.exchange('AT+SYSLOG=1\r\n')) !== '\r\nOK\r\n') throw new Error('AT+SYSLOG=1 failed');
  return wire;
}

export function bytes(text: string): Buffer {
  return Buffer.from(text, 'latin1');
}
