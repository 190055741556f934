import type { AtSession } from '../at/session.js';
import { AtPkiError, DeviceError, VerifyError } from '../errors.js';
import { ignoreEvents, type EventSink } from './events.js';
import { type Partition, SECTOR_SIZE } from './partition-table.js';
import { readRange } from './read-range.js';
import { eraseRange, MAX_TRANSFER, writeChunk } from './sysflash.js';
import { planWrite, type SectorAction } from './write-plan.js';

export interface WriteImageOptions {
  signal?: AbortSignal;
  onEvent?: EventSink;
  /** Erase and rewrite every sector even if the module already holds the content. @default false */
  force?: boolean;
  /** What the range holds now, when the caller has just read it: skips the comparison read. */
  current?: Buffer;
  /**
   * Sectors (partition offsets, 4 KiB aligned) past the range to erase whenever the range had to
   * change — e.g. the rest of a PKI partition, so no stale item survives after a shorter bin.
   */
  eraseAfter?: { offset: number; length: number };
}

export interface WriteReport {
  partition: string;
  offset: number;
  length: number;
  /** The module already held exactly these bytes: nothing was erased or written. */
  unchanged: boolean;
  erasedSectors: number;
  bytesWritten: number;
  /** Bytes read for the comparison and the verification. */
  bytesRead: number;
  /** Chunks that stalled in data mode and were recovered (then rewritten). */
  recoveries: number;
  /** Always true in a returned report: a mismatch throws. */
  verified: true;
}

/**
 * Make `bytes` appear at `offset` of the partition, touching as little flash as possible:
 * read what is there → plan per sector → erase/write only what differs → read back and compare.
 * A failure carries `details.deviceState`, saying what was done to the module before it stopped.
 */
export async function writeImage(
  session: AtSession,
  partition: Partition,
  offset: number,
  bytes: Uint8Array,
  options: WriteImageOptions = {},
): Promise<WriteReport> {
  const emit = options.onEvent ?? ignoreEvents;
  const signal = options.signal;
  const desired = Buffer.from(bytes);
  const length = desired.length;
  const touched = new TouchedSectors(partition.label);
  let bytesRead = 0;
  let bytesWritten = 0;
  let recoveries = 0;

  try {
    let plan;
    if (options.force) {
      plan = planWrite(offset, Buffer.alloc(length, 0), desired, { eraseAll: true });
    } else if (options.current) {
      plan = planWrite(offset, options.current, desired);
    } else {
      emit({ type: 'progress', phase: 'compare', done: 0, total: length, unit: 'bytes' });
      const current = await readRange(session, partition, offset, length, {
        signal,
        onProgress: (done) => emit({ type: 'progress', phase: 'compare', done, total: length, unit: 'bytes' }),
      });
      bytesRead += length;
      plan = planWrite(offset, current, desired);
    }
    if (plan.actions.length === 0) {
      emit({ type: 'log', level: 'info', message: `${partition.label} already holds these ${length} bytes; nothing written` });
      return { partition: partition.label, offset, length, unchanged: true, erasedSectors: 0, bytesWritten: 0, bytesRead, recoveries, verified: true };
    }

    const tail = options.eraseAfter && options.eraseAfter.length > 0 ? options.eraseAfter : undefined;
    const sectorsToErase = plan.erasedSectors + (tail ? tail.length / SECTOR_SIZE : 0);
    let erased = 0;
    const eraseProgress = (): void => emit({ type: 'progress', phase: 'erase', done: erased, total: sectorsToErase, unit: 'sectors' });
    const writeProgress = (): void => emit({ type: 'progress', phase: 'write', done: bytesWritten, total: plan.bytesToWrite, unit: 'bytes' });

    const apply = async (action: SectorAction): Promise<void> => {
      if (action.erase) {
        touched.erasing(action.sector);
        await eraseRange(session, partition, action.sector, SECTOR_SIZE, { signal });
        erased++;
        eraseProgress();
      }
      for (const span of action.writes) {
        for (let done = 0; done < span.bytes.length; done += MAX_TRANSFER) {
          const chunk = span.bytes.subarray(done, done + MAX_TRANSFER);
          touched.writing(action.sector);
          await writeChunk(session, partition, span.offset + done, chunk, { signal });
          bytesWritten += chunk.length;
          writeProgress();
        }
      }
    };

    eraseProgress();
    writeProgress();
    for (const action of plan.actions) {
      try {
        await apply(action);
      } catch (error) {
        if (!(error instanceof DeviceError) || error.details.toppedUpBytes === undefined) throw error;
        // Bytes were lost on the line mid-chunk; the session topped the write up with 0xFF. The sector
        // now holds something unknown: erase and write it once more from scratch.
        recoveries++;
        emit({ type: 'log', level: 'warn', message: `${error.message}; rewriting sector 0x${action.sector.toString(16)}` });
        const sectorStart = Math.max(offset, action.sector);
        const sectorEnd = Math.min(offset + length, action.sector + SECTOR_SIZE);
        const redo = planWrite(sectorStart, Buffer.alloc(sectorEnd - sectorStart, 0), desired.subarray(sectorStart - offset, sectorEnd - offset), {
          eraseAll: true,
        });
        for (const again of redo.actions) await apply(again);
      }
    }
    if (tail) {
      touched.erasing(tail.offset);
      await eraseRange(session, partition, tail.offset, tail.length, { signal });
      erased += tail.length / SECTOR_SIZE;
      eraseProgress();
    }

    emit({ type: 'progress', phase: 'verify', done: 0, total: length, unit: 'bytes' });
    const readBack = await readRange(session, partition, offset, length, {
      signal,
      onProgress: (done) => emit({ type: 'progress', phase: 'verify', done, total: length, unit: 'bytes' }),
    });
    bytesRead += length;
    const mismatch = firstDifference(readBack, desired);
    if (mismatch >= 0) {
      throw new VerifyError(
        `verification failed: ${partition.label} differs from what was written at offset ${offset + mismatch} ` +
          `(read 0x${readBack[mismatch]!.toString(16).padStart(2, '0')}, expected 0x${desired[mismatch]!.toString(16).padStart(2, '0')})`,
        { details: { partition: partition.label, offset: offset + mismatch } },
      );
    }
    return { partition: partition.label, offset, length, unchanged: false, erasedSectors: erased, bytesWritten, bytesRead, recoveries, verified: true };
  } catch (error) {
    if (error instanceof AtPkiError) error.details.deviceState = touched.describe();
    throw error;
  }
}

function firstDifference(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < b.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

/** What a failed write left behind, in words a user can act on. */
class TouchedSectors {
  readonly #erased = new Set<number>();
  readonly #written = new Set<number>();

  constructor(private readonly label: string) {}

  erasing(sector: number): void {
    this.#erased.add(sector);
  }

  writing(sector: number): void {
    this.#written.add(sector);
  }

  describe(): string {
    if (this.#erased.size === 0 && this.#written.size === 0) return `unchanged: nothing was erased or written on ${this.label}`;
    const list = (s: Set<number>): string => [...s].map((n) => `0x${n.toString(16)}`).join(', ');
    const parts = [];
    if (this.#erased.size) parts.push(`erased sector(s) ${list(this.#erased)}`);
    if (this.#written.size) parts.push(`wrote into sector(s) ${list(this.#written)}`);
    return `modified: ${parts.join(' and ')} of ${this.label}; its content is incomplete — run the operation again`;
  }
}
