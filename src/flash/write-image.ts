import type { AtSession } from '../at/session.js';
import { AbortedError, AtPkiError, DeviceError, VerifyError } from '../errors.js';
import { mergeEraseRuns } from './erase-runs.js';
import { ignoreEvents, type EventSink } from './events.js';
import { type Partition, SECTOR_SIZE } from './partition-table.js';
import { readRange } from './read-range.js';
import { eraseRange, MAX_TRANSFER, readChunk, writeChunk } from './sysflash.js';
import { planWrite, type SectorAction, type WritePlan } from './write-plan.js';

export interface WriteImageOptions {
  signal?: AbortSignal;
  onEvent?: EventSink;
  /** Erase and rewrite every sector even if the module already holds the content. @default false */
  force?: boolean;
  /** What the range holds now, when the caller has just read it: skips the comparison read. */
  current?: Buffer;
  /**
   * `current` is partly a guess (e.g. erased flash where a probe found 0xFF): the read-back then
   * covers the whole range, and a sector that does not read back right is erased and written again.
   */
  currentIsGuess?: boolean;
  /** The range's first PROBE_BYTES, when the caller has just read them: skips the probe read. */
  head?: Buffer;
  /** With `head`: the total the caller's compare progress already showed (ours never shows less). */
  compareTotal?: number;
  /**
   * Sectors (partition offsets, 4 KiB aligned) past the range to erase whenever the range had to
   * change — e.g. the rest of a PKI partition, so no stale item survives after a shorter bin.
   */
  eraseAfter?: { offset: number; length: number };
  /** Bytes per write command (a multiple of 4, at most 4096, the firmware's limit). @default 4096 */
  chunkSize?: number;
  /**
   * The caller re-checks the whole partition when a command of this run came back garbled (it may
   * have run as another command, e.g. an erase elsewhere): update does, knowing the whole partition's
   * content. Otherwise such a run fails after its read-back: the range is right, the rest unproven.
   */
  callerRechecksGarbled?: boolean;
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
  /** Bytes read back after writing to check them (a second read of a garbled sector included); 0 when nothing was written. */
  bytesVerified: number;
  /** Chunks that stalled in data mode and were recovered (then rewritten). */
  recoveries: number;
  /** Always true in a returned report: a mismatch throws. */
  verified: true;
}

/**
 * How much of the range is read first to see whether it is erased. If those bytes are all 0xFF the
 * rest is taken to be erased too (a fresh module) and is not read before writing: the read-back,
 * which covers the whole range in that case, checks the guess, and any sector that was not erased
 * after all is erased and written again. Saves the comparison read (the payload's wire time) on
 * blank modules; costs one short read everywhere else.
 */
export const PROBE_BYTES = 64;

/**
 * Make `bytes` appear at `offset` of the partition, touching as little flash as possible:
 * find out what is there → plan per sector → erase (contiguous sectors in one command) and write
 * only what differs → read back what was written and compare. A failure carries
 * `details.deviceState`, saying what was done to the module before it stopped.
 *
 * What is there: `current` when the caller knows it; nothing with `force` (everything is erased and
 * written); else a short probe read, then either the rest of the range (to compare), or — when the
 * probe found erased flash — nothing more (see PROBE_BYTES).
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
  const chunkSize = chunkSizeOf(options.chunkSize);
  const touched = new TouchedSectors(partition.label);
  let bytesRead = 0;
  let bytesWritten = 0;
  let bytesVerified = 0;
  let recoveries = 0;
  const suspectAtStart = session.suspectEvents;
  /** A command of this run came back garbled: unless the caller re-checks, the range is all we can vouch for. */
  const failIfGarbled = (): void => {
    if (!options.callerRechecksGarbled && session.suspectEvents !== suspectAtStart) {
      throw new DeviceError(
        `a command came back garbled on the line and may have run as another command: the ${length} bytes at offset ${offset} of ${partition.label} were read back and match, but the rest of the partition is not proven`,
        { details: { partition: partition.label, garbled: true } },
      );
    }
  };

  try {
    let plan: WritePlan | undefined;
    /** The plan rests on the guess that the range is erased: the read-back must cover all of it. */
    let assumedBlank = false;
    if (options.force) {
      plan = planWrite(offset, Buffer.alloc(length, 0), desired, { eraseAll: true });
    } else if (options.current) {
      plan = planWrite(offset, options.current, desired);
      assumedBlank = options.currentIsGuess === true;
    } else {
      const probeLength = Math.min(PROBE_BYTES, length);
      // The total grows if the probe leads to the comparison read; it never shrinks, also below what
      // a caller that read the head already announced.
      let compareTotal = options.head ? (options.compareTotal ?? 0) : 0;
      const compared = (done: number, total: number): void => {
        compareTotal = Math.max(compareTotal, total);
        emit({ type: 'progress', phase: 'compare', done, total: compareTotal, unit: 'bytes' });
      };
      if (!options.head) compared(0, probeLength);
      let probe = options.head?.length === probeLength ? options.head : undefined;
      if (!probe) {
        probe = length > 0 ? await readChunk(session, partition, offset, probeLength, { signal }) : Buffer.alloc(0);
        bytesRead += probeLength;
      }
      if (probeLength < length && isErased(probe)) {
        const blankPlan = planWrite(offset, Buffer.alloc(length, 0xff), desired);
        if (blankPlan.actions.length > 0) {
          plan = blankPlan;
          assumedBlank = true;
          compared(probeLength, probeLength);
        }
      }
      if (!plan) {
        compared(probeLength, length);
        const rest = await readRange(session, partition, offset + probeLength, length - probeLength, {
          signal,
          onProgress: (done) => compared(probeLength + done, length),
        });
        bytesRead += rest.length;
        plan = planWrite(offset, Buffer.concat([probe, rest]), desired);
      }
    }
    if (plan.actions.length === 0) {
      emit({ type: 'log', level: 'info', message: `${partition.label} already holds these ${length} bytes; nothing written` });
      failIfGarbled();
      return { partition: partition.label, offset, length, unchanged: true, erasedSectors: 0, bytesWritten: 0, bytesRead, bytesVerified: 0, recoveries, verified: true };
    }

    const tail = options.eraseAfter && options.eraseAfter.length > 0 ? options.eraseAfter : undefined;
    // All erases first, contiguous sectors (and the tail) merged into one command each.
    const eraseRuns = mergeEraseRuns(
      plan.actions.filter((a) => a.erase).map((a) => a.sector),
      tail ? [tail] : [],
    );
    const sectorsToErase = eraseRuns.reduce((sum, run) => sum + run.length / SECTOR_SIZE, 0);
    let erased = 0;
    let bytesToWrite = plan.bytesToWrite;
    const eraseProgress = (): void => emit({ type: 'progress', phase: 'erase', done: erased, total: sectorsToErase, unit: 'sectors' });
    const writeProgress = (): void => emit({ type: 'progress', phase: 'write', done: bytesWritten, total: bytesToWrite, unit: 'bytes' });

    const eraseSectors = async (start: number, bytesLength: number): Promise<void> => {
      // Cancelled already: the erase is not sent, and the sectors must not be reported as erased.
      throwIfCancelled(signal, 'erase');
      for (let s = start; s < start + bytesLength; s += SECTOR_SIZE) touched.erasing(s);
      await eraseRange(session, partition, start, bytesLength, { signal });
    };
    const writeSpans = async (action: SectorAction): Promise<void> => {
      for (const span of action.writes) {
        for (let done = 0; done < span.bytes.length; done += chunkSize) {
          const chunk = span.bytes.subarray(done, done + chunkSize);
          try {
            await writeChunk(session, partition, span.offset + done, chunk, { signal });
          } catch (error) {
            // A cancel is honoured only before the data goes out (the session never tears a data phase
            // off), and 0xFF sent to finish a half-started write changes no flash: nothing was written.
            if (!(error instanceof AbortedError)) touched.writing(action.sector);
            throw error;
          }
          touched.writing(action.sector);
          bytesWritten += chunk.length;
          writeProgress();
        }
      }
    };
    /** Erase one sector and write all of its part of the range from scratch. */
    const rewriteSector = async (sector: number): Promise<void> => {
      const from = Math.max(offset, sector);
      const to = Math.min(offset + length, sector + SECTOR_SIZE);
      const redo = planWrite(from, Buffer.alloc(to - from, 0), desired.subarray(from - offset, to - offset), { eraseAll: true });
      bytesToWrite += redo.bytesToWrite;
      for (const action of redo.actions) {
        await eraseSectors(action.sector, SECTOR_SIZE);
        erased++;
        await writeSpans(action);
      }
    };

    // Phases one after the other: every erase event, then every write event.
    if (sectorsToErase > 0) eraseProgress();
    for (const run of eraseRuns) {
      await eraseSectors(run.offset, run.length);
      erased += run.length / SECTOR_SIZE;
      eraseProgress();
    }
    writeProgress();
    for (const action of plan.actions) {
      try {
        await writeSpans(action);
      } catch (error) {
        if (!(error instanceof DeviceError) || error.details.toppedUpBytes === undefined) throw error;
        // Bytes were lost on the line mid-chunk; the session topped the write up with 0xFF. The sector
        // now holds something unknown: erase and write it once more from scratch.
        recoveries++;
        emit({ type: 'log', level: 'warn', message: `${error.message}; rewriting sector 0x${action.sector.toString(16)}` });
        await rewriteSector(action.sector);
      }
    }

    // Read back what changed. Sectors the comparison found equal were not touched and already matched;
    // after a guess that the range was erased, every sector is checked.
    const toVerify = assumedBlank ? [{ offset, length }] : sectorRanges(plan.actions.map((a) => a.sector), offset, length);
    const verifyTotal = toVerify.reduce((sum, r) => sum + r.length, 0);
    let verified = 0;
    emit({ type: 'progress', phase: 'verify', done: 0, total: verifyTotal, unit: 'bytes' });
    /** Read the part of `sector` inside `range` again, into `readBack` (which holds `range`). */
    const readSectorAgain = async (readBack: Buffer, range: { offset: number; length: number }, sector: number): Promise<void> => {
      const from = Math.max(range.offset, sector);
      const to = Math.min(range.offset + range.length, sector + SECTOR_SIZE);
      const again = await readRange(session, partition, from, to - from, { signal });
      bytesRead += again.length;
      bytesVerified += again.length;
      again.copy(readBack, from - range.offset);
    };
    for (const range of toVerify) {
      const readBack = await readRange(session, partition, range.offset, range.length, {
        signal,
        onProgress: (done) => emit({ type: 'progress', phase: 'verify', done: verified + done, total: verifyTotal, unit: 'bytes' }),
      });
      bytesRead += range.length;
      bytesVerified += range.length;
      verified += range.length;
      const expected = desired.subarray(range.offset - offset, range.offset - offset + range.length);
      let mismatch = firstDifference(readBack, expected);
      if (mismatch >= 0 && assumedBlank) {
        // The guess was wrong for these sectors: they held data. Erase and write them properly.
        for (const sector of mismatchedSectors(readBack, expected, range.offset)) {
          emit({ type: 'log', level: 'info', message: `sector 0x${sector.toString(16)} of ${partition.label} was not erased after all; erasing and writing it again` });
          await rewriteSector(sector);
          await readSectorAgain(readBack, range, sector);
        }
        mismatch = firstDifference(readBack, expected);
      }
      if (mismatch >= 0) {
        // A byte garbled on the way back looks just like one garbled on the way in. Read the differing
        // sectors once more: flash that holds the right bytes reads right again; a bad write does not.
        for (const sector of mismatchedSectors(readBack, expected, range.offset)) await readSectorAgain(readBack, range, sector);
        mismatch = firstDifference(readBack, expected);
        if (mismatch < 0) emit({ type: 'log', level: 'warn', message: `the read-back of ${partition.label} came back garbled; a second read matched` });
      }
      if (mismatch >= 0) {
        // Read twice, wrong twice: the data was garbled on its way in. Sectors wholly inside the range
        // (their whole content is known) are erased and written once more, then read back again.
        const wholly = mismatchedSectors(readBack, expected, range.offset).filter((sector) => sector >= offset && sector + SECTOR_SIZE <= offset + length);
        for (const sector of wholly) {
          emit({ type: 'log', level: 'warn', message: `sector 0x${sector.toString(16)} of ${partition.label} read back wrong twice; erasing and writing it again` });
          recoveries++;
          await rewriteSector(sector);
          await readSectorAgain(readBack, range, sector);
        }
        mismatch = firstDifference(readBack, expected);
      }
      if (mismatch >= 0) {
        throw new VerifyError(
          `verification failed: ${partition.label} differs from what was written at offset ${range.offset + mismatch} ` +
            `(read 0x${readBack[mismatch]!.toString(16).padStart(2, '0')}, expected 0x${expected[mismatch]!.toString(16).padStart(2, '0')})`,
          { details: { partition: partition.label, offset: range.offset + mismatch } },
        );
      }
    }
    failIfGarbled();
    return { partition: partition.label, offset, length, unchanged: false, erasedSectors: erased, bytesWritten, bytesRead, bytesVerified, recoveries, verified: true };
  } catch (error) {
    if (error instanceof AtPkiError && error.details.garbled === true) {
      error.details.deviceState = `state unknown: the range was written and verified; a garbled command may have changed other sectors of ${partition.label} — check them with 'at-pki read'`;
      throw error;
    }
    if (error instanceof AtPkiError) error.details.deviceState = touched.describe();
    throw error;
  }
}

function throwIfCancelled(signal: AbortSignal | undefined, what: string): void {
  if (!signal?.aborted) return;
  const reason = signal.reason instanceof Error ? signal.reason.message : String(signal.reason ?? 'aborted');
  throw new AbortedError(`cancelled before the next ${what}: ${reason}`, { cause: signal.reason });
}

function chunkSizeOf(requested: number | undefined): number {
  if (requested === undefined) return MAX_TRANSFER;
  if (!Number.isInteger(requested) || requested < 4 || requested > MAX_TRANSFER || requested % 4 !== 0) {
    throw new RangeError(`chunkSize must be a multiple of 4 between 4 and ${MAX_TRANSFER}, got ${requested}`);
  }
  return requested;
}

export function isErased(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== 0xff) return false;
  return true;
}

/** The parts of [offset, offset+length) inside the given sectors, adjacent ones joined. */
function sectorRanges(sectors: number[], offset: number, length: number): { offset: number; length: number }[] {
  const end = offset + length;
  const ranges: { offset: number; length: number }[] = [];
  for (const sector of [...new Set(sectors)].sort((a, b) => a - b)) {
    const from = Math.max(offset, sector);
    const to = Math.min(end, sector + SECTOR_SIZE);
    if (to <= from) continue;
    const last = ranges[ranges.length - 1];
    if (last && last.offset + last.length === from) last.length += to - from;
    else ranges.push({ offset: from, length: to - from });
  }
  return ranges;
}

/** Sectors (partition offsets) in which `actual` and `expected`, starting at partition offset `start`, differ. */
function mismatchedSectors(actual: Uint8Array, expected: Uint8Array, start: number): number[] {
  const sectors = new Set<number>();
  for (let i = 0; i < expected.length; i++) {
    if (actual[i] !== expected[i]) {
      const sector = Math.floor((start + i) / SECTOR_SIZE) * SECTOR_SIZE;
      sectors.add(sector);
      i = sector + SECTOR_SIZE - start - 1; // next sector
    }
  }
  return [...sectors];
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
