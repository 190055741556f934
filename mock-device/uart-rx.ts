/**
 * The module's receive side. Each chunk the host sends is handed to the receiver later, never
 * inside the caller's stack: immediately-but-asynchronously, or, with line-rate timing, only
 * once its last byte would have crossed the wire (chunks queue up behind each other).
 * One host write = one chunk, which is what the firmware's busy/raw logic works on.
 */

import { WireTimer } from './wire-timer.js';

interface RxItem {
  data: Buffer;
  /** performance.now() when the chunk is fully received. */
  readyAt: number;
}

export class UartRx {
  private readonly queue: RxItem[] = [];
  private readonly timer = new WireTimer();
  private lineFreeAt = 0;

  /**
   * @param deliver receives each chunk once it has arrived.
   * @param baudRate current line rate (pacing only).
   * @param paced true for line-rate timing.
   */
  constructor(
    private readonly deliver: (chunk: Buffer) => void,
    private readonly baudRate: () => number,
    private readonly paced: boolean,
  ) {}

  get idle(): boolean {
    return this.queue.length === 0;
  }

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    const now = performance.now();
    let readyAt = now;
    if (this.paced) {
      const start = Math.max(now, this.lineFreeAt);
      readyAt = start + (chunk.length * 10 * 1000) / this.baudRate();
      this.lineFreeAt = readyAt;
    }
    this.queue.push({ data: Buffer.from(chunk), readyAt });
    this.schedule();
  }

  clear(): void {
    this.queue.length = 0;
    this.timer.cancel();
    this.lineFreeAt = 0;
  }

  private schedule(): void {
    if (this.timer.active || this.queue.length === 0) return;
    this.timer.at(this.queue[0]!.readyAt, () => this.drain());
  }

  private drain(): void {
    const now = performance.now();
    // Timers may fire a hair early; allow 1 ms of slack rather than spinning.
    while (this.queue.length > 0 && this.queue[0]!.readyAt <= now + 1) {
      this.deliver(this.queue.shift()!.data);
    }
    this.schedule();
  }
}
