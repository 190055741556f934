/**
 * Exactly one corrupted byte in one chosen command line: on its way to the module (the module runs
 * what it received, and echoes that) or in the module's echo of it on the way back (the module ran
 * the right command; the host sees a wrong echo). What a long cable or a flaky USB bridge does once;
 * the fault sweep (scripts/corruption-sweep.ts) runs one of these per update.
 */
import type { FaultInjector } from '../fault-injection.js';

export interface LineCorruptionOptions {
  /** Command lines that count start with this text, e.g. `AT+SYSFLASH=1,` for writes. */
  prefix: string;
  /** Which of the counted lines is hit (0 = the first). */
  occurrence: number;
  /** Byte of that line to corrupt (CR LF included); past the end means the last byte. */
  index: number;
  /** `command`: host → module; `echo`: the module's echo, module → host. */
  direction: 'command' | 'echo';
  /** Bits flipped in that byte. @default 0x01 */
  xor?: number;
}

export class LineCorruption implements FaultInjector {
  /** True once the byte was corrupted (false: the chosen command never came). */
  fired = false;
  #seen = 0;
  /** Output bytes still to pass before the one to corrupt (echo direction, once armed). */
  #echoAt: number | undefined;

  constructor(readonly options: LineCorruptionOptions) {}

  filterInput(chunk: Buffer): Buffer | null {
    if (this.fired || this.#echoAt !== undefined) return chunk;
    // One host write is one chunk (UartRx); a command line is one write ending in CR LF.
    const text = chunk.toString('latin1');
    if (!text.startsWith(this.options.prefix) || !text.endsWith('\r\n')) return chunk;
    if (this.#seen++ !== this.options.occurrence) return chunk;
    const index = Math.min(this.options.index, chunk.length - 1);
    if (this.options.direction === 'echo') {
      this.#echoAt = index; // the module's next output is this line's echo
      return chunk;
    }
    const corrupted = Buffer.from(chunk);
    corrupted[index] = corrupted[index]! ^ (this.options.xor ?? 0x01);
    this.fired = true;
    return corrupted;
  }

  filterOutput(chunk: Buffer): Buffer | null {
    if (this.#echoAt === undefined) return chunk;
    if (this.#echoAt >= chunk.length) {
      this.#echoAt -= chunk.length;
      return chunk;
    }
    const corrupted = Buffer.from(chunk);
    corrupted[this.#echoAt] = corrupted[this.#echoAt]! ^ (this.options.xor ?? 0x01);
    this.#echoAt = undefined;
    this.fired = true;
    return corrupted;
  }
}
