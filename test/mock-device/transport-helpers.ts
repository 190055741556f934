/** Test helper: collect what a transport delivers and wait for a byte sequence. */
import type { EventEmitter } from 'node:events';

export class Collector {
  private chunks: Buffer[] = [];

  constructor(source: EventEmitter) {
    source.on('data', (chunk: Buffer) => this.chunks.push(chunk));
  }

  get bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }

  get text(): string {
    return this.bytes.toString('latin1');
  }

  clear(): void {
    this.chunks = [];
  }

  /** Resolve once the collected bytes contain `needle`; reject after `timeoutMs`. */
  async waitFor(needle: string, timeoutMs = 5000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (!this.text.includes(needle)) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${JSON.stringify(needle)}; got ${JSON.stringify(this.text)}`);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    return this.text;
  }
}

export function once<T extends unknown[]>(source: EventEmitter, event: string, timeoutMs = 5000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no '${event}' within ${timeoutMs} ms`)), timeoutMs);
    source.once(event, (...args: unknown[]) => {
      clearTimeout(timer);
      resolve(args as T);
    });
  });
}
