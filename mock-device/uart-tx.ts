/**
 * The module's transmit side. Bytes are queued in order and handed to the sink asynchronously
 * (never inside the caller's stack), either as fast as possible or paced at the line rate
 * (baud/10 bytes per second, 8N1). Actions can be queued between bytes: they run once everything
 * queued before them has left the wire, which is how "OK at the old baud, then switch" and
 * "OK, then restart" are sequenced.
 */

import { WireTimer } from './wire-timer.js';

type TxItem = { kind: 'bytes'; data: Buffer } | { kind: 'action'; run: () => void };

/** At most this much wire time is released per timer tick when pacing. */
const PACING_SLICE_MS = 4;

export class UartTx {
  private readonly queue: TxItem[] = [];
  private scheduled = false;
  private readonly pacer = new WireTimer();
  private immediate: NodeJS.Immediate | undefined;
  /** performance.now() at which the line is free again (pacing only). */
  private lineFreeAt = 0;

  /**
   * @param sink receives every chunk that has "left the wire".
   * @param baudRate current line rate, read whenever a slice is timed.
   * @param paced true for line-rate timing.
   */
  constructor(
    private readonly sink: (chunk: Buffer) => void,
    private readonly baudRate: () => number,
    private readonly paced: boolean,
  ) {}

  /** Nothing queued and nothing in flight. */
  get idle(): boolean {
    return this.queue.length === 0 && !this.scheduled;
  }

  send(data: string | Uint8Array): void {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'latin1') : Buffer.from(data);
    if (bytes.length === 0) return;
    this.queue.push({ kind: 'bytes', data: bytes });
    this.schedule();
  }

  /** Run `action` after everything queued so far has been sent. */
  then(action: () => void): void {
    this.queue.push({ kind: 'action', run: action });
    this.schedule();
  }

  /** Drop everything not yet sent (power loss / hardware reset). */
  clear(): void {
    this.queue.length = 0;
    this.pacer.cancel();
    if (this.immediate) clearImmediate(this.immediate);
    this.immediate = undefined;
    this.scheduled = false;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    this.immediate = setImmediate(() => {
      this.immediate = undefined;
      this.pump();
    });
  }

  private pump(): void {
    while (this.queue.length > 0) {
      const head = this.queue[0]!;
      if (head.kind === 'action') {
        this.queue.shift();
        head.run();
        continue;
      }
      if (!this.paced) {
        // Coalesce consecutive byte items into one chunk, like a read() on the host would.
        const parts: Buffer[] = [];
        while (this.queue[0]?.kind === 'bytes') parts.push((this.queue.shift() as { data: Buffer }).data);
        this.sink(parts.length === 1 ? parts[0]! : Buffer.concat(parts));
        continue;
      }
      this.sendPacedSlice(head.data);
      return;
    }
    this.scheduled = false;
  }

  private sendPacedSlice(data: Buffer): void {
    const bytesPerMs = this.baudRate() / 10 / 1000;
    const sliceBytes = Math.max(1, Math.floor(bytesPerMs * PACING_SLICE_MS));
    const slice = data.subarray(0, sliceBytes);
    const now = performance.now();
    const start = Math.max(now, this.lineFreeAt);
    this.lineFreeAt = start + slice.length / bytesPerMs;
    this.pacer.at(this.lineFreeAt, () => {
      const head = this.queue[0];
      if (head?.kind === 'bytes') {
        if (slice.length === head.data.length) this.queue.shift();
        else head.data = head.data.subarray(slice.length);
      }
      this.sink(Buffer.from(slice));
      this.pump();
    });
  }
}
