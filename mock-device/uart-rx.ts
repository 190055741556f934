/**
 * The module's receive side. Each chunk the host sends is handed to the receiver later, never
 * inside the caller's stack: immediately-but-asynchronously, or, with line-rate timing, only
 * once its last byte would have crossed the wire (chunks queue up behind each other).
 * One host write = one chunk, which is what the firmware's busy/raw logic works on.
 */

interface RxItem {
  data: Buffer;
  /** performance.now() when the chunk is fully received. */
  readyAt: number;
}

export class UartRx {
  private readonly queue: RxItem[] = [];
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
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
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
    this.lineFreeAt = 0;
  }

  private schedule(): void {
    if (this.timer || this.immediate || this.queue.length === 0) return;
    const wait = this.queue[0]!.readyAt - performance.now();
    if (wait <= 0) {
      this.immediate = setImmediate(() => {
        this.immediate = undefined;
        this.drain();
      });
    } else {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.drain();
      }, wait);
    }
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
