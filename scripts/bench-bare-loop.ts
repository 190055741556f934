/**
 * The reference the session is measured against: a hand-written loop straight on the transport
 * (no session, no queue, no timeouts, no framer): `AT+SYSFLASH=0` for the sectors that need it, then
 * for each 4 KiB chunk write the command, wait for `>`, write the chunk, wait for `OK`. It is what
 * "no host overhead at all" costs on the emulator, and it does no reading, comparing or verifying.
 */
import { createMockTransport } from '../mock-device/index.js';

interface Waiter {
  /** A text to wait for, or a number of bytes to take. */
  pattern: string | number;
  resolve: () => void;
}

/** Minimal reader: resolves when `pattern` has arrived (searching only what came since the last match). */
class Reader {
  #text = '';
  #waiter: Waiter | undefined;

  push = (chunk: Buffer): void => {
    this.#text += chunk.toString('latin1');
    this.#check();
  };

  until(pattern: string | number): Promise<void> {
    return new Promise((resolve) => {
      this.#waiter = { pattern, resolve };
      this.#check();
    });
  }

  #check(): void {
    const w = this.#waiter;
    if (!w) return;
    if (typeof w.pattern === 'number') {
      if (this.#text.length < w.pattern) return;
      this.#text = this.#text.slice(w.pattern);
    } else {
      const at = this.#text.indexOf(w.pattern);
      if (at < 0) return;
      this.#text = this.#text.slice(at + w.pattern.length);
    }
    this.#waiter = undefined;
    w.resolve();
  }
}

export interface BareLoopOptions {
  url: string;
  baudRate: number;
  label: string;
  payload: Buffer;
  /** Erase the range first (one command for all its sectors). */
  erase: boolean;
  /** Then read it all back, 4 KiB per command (without comparing): a verified write's bare minimum. */
  readBack?: boolean;
  chunk?: number;
}

/** Runs the loop; returns the elapsed ms of the timed part (erase + writes (+ reads)). */
export async function bareLoop(options: BareLoopOptions): Promise<number> {
  const transport = await createMockTransport(new URL(options.url), { baudRate: options.baudRate, timeoutMs: 3000 });
  const reader = new Reader();
  transport.on('data', reader.push);
  try {
    await reader.until('ready\r\n');
    await transport.write(Buffer.from('ATE0\r\n'));
    await reader.until('OK\r\n');
    const chunk = options.chunk ?? 4096;
    const started = performance.now();
    if (options.erase) {
      const length = Math.ceil(options.payload.length / 4096) * 4096;
      await transport.write(Buffer.from(`AT+SYSFLASH=0,"${options.label}",0,${length}\r\n`));
      await reader.until('OK\r\n');
    }
    for (let offset = 0; offset < options.payload.length; offset += chunk) {
      const data = options.payload.subarray(offset, offset + chunk);
      await transport.write(Buffer.from(`AT+SYSFLASH=1,"${options.label}",${offset},${data.length}\r\n`));
      await reader.until('>');
      await transport.write(data);
      await reader.until('OK\r\n');
    }
    for (let offset = 0; options.readBack && offset < options.payload.length; offset += 4096) {
      const length = Math.min(4096, options.payload.length - offset);
      await transport.write(Buffer.from(`AT+SYSFLASH=2,"${options.label}",${offset},${length}\r\n`));
      await reader.until(`+SYSFLASH:${length},`);
      await reader.until(length); // the data, framed by its length (it may hold any bytes)
      await reader.until('OK\r\n');
    }
    return performance.now() - started;
  } finally {
    await transport.close();
  }
}
