import { AtPkiError, InputError, VerifyError } from '../errors.js';
import { mergeEraseRuns } from './erase-runs.js';
import { ignoreEvents, type EventSink } from './events.js';
import type { EspAtModule } from './module.js';
import { type Partition, SECTOR_SIZE } from './partition-table.js';
import { readRange } from './read-range.js';
import { eraseRange, MAX_TRANSFER, writeChunk } from './sysflash.js';
import { isErased, PROBE_BYTES, writeImage, type WriteReport } from './write-image.js';

export interface UpdateOptions {
  signal?: AbortSignal;
  onEvent?: EventSink;
  /** Rewrite even when the module already holds exactly this bin. @default false */
  force?: boolean;
}

export interface UpdateReport extends WriteReport {
  partitionSize: number;
  durationMs: number;
  /**
   * How this run knows the whole partition holds exactly the bin followed by 0xFF: which bytes were
   * read back and which sectors were erased (with the erase answered OK) in this run.
   */
  exactness: string;
  /** Sectors found wrong by a whole-partition re-check after a garbled command, then erased and rewritten. */
  repairedSectors: number;
}

/** Estimated time a module takes to erase one sector (ESP32 NOR flash, ~45 ms), for the read-or-erase choice. */
const SECTOR_ERASE_ESTIMATE_MS = 45;
/** Times the whole partition is read and repaired after garbled commands before giving up. */
const RECHECK_ROUNDS = 3;

/**
 * Put a bin at the start of a partition so that the partition holds exactly the bin followed by
 * 0xFF, and prove it: every byte of the partition is either read back in this run or lies in a sector
 * this run erased (the erase answered OK, its echo matched).
 *
 * - Already there? Read the bin's sectors whole (the bin, then the rest of its last sector). Sectors
 *   after them are read (they must be 0xFF) or erased, whichever costs less at this line rate: a 4 KiB
 *   read takes ~355 ms at 115200 baud, an erase ~45 ms; at 921600 the read is cheaper.
 * - Otherwise: writeImage erases only the sectors that need it, writes, reads back what it wrote and
 *   erases every sector after the bin.
 * - If any command of the run came back with a differing echo (the module may have erased or written
 *   somewhere else) or a data phase had to be filled, the whole partition is read once more and every
 *   sector that is wrong is erased and rewritten, until a clean read matches.
 */
export async function updatePartition(module: EspAtModule, label: string, bin: Uint8Array, options: UpdateOptions = {}): Promise<UpdateReport> {
  const started = performance.now();
  if (bin.length === 0) throw new InputError('refusing to write an empty bin');
  const session = module.session;
  const suspectAtStart = session.suspectEvents;
  const partition = await module.partition(label, { signal: options.signal });
  // Writes go in 4-byte units; pad as AtPKI does (0xFF is what erased flash holds anyway).
  const image = Buffer.alloc(Math.ceil(bin.length / 4) * 4, 0xff);
  image.set(bin);
  if (image.length > partition.size) {
    throw new InputError(`the bin (${bin.length} bytes) does not fit in partition ${label} (${partition.size} bytes)`, {
      details: { partition: label, binBytes: bin.length, partitionSize: partition.size, deviceState: 'unchanged' },
    });
  }
  const tailStart = Math.min(partition.size, Math.ceil(image.length / SECTOR_SIZE) * SECTOR_SIZE);
  const desired = Buffer.alloc(tailStart, 0xff);
  desired.set(image);
  const tail = { offset: tailStart, length: Math.max(0, partition.size - tailStart) };
  const sectorsText = (offset: number, length: number): string => `0x${offset.toString(16)}–0x${(offset + length - 1).toString(16)}`;

  let head: Buffer | undefined;
  let current: Buffer | undefined;
  let bytesRead = 0;
  let report: WriteReport | undefined;
  let exactness = '';
  const compared = (): void => options.onEvent?.({ type: 'progress', phase: 'compare', done: bytesRead, total: tailStart, unit: 'bytes' });
  try {
    if (!options.force) {
      head = await readRange(session, partition, 0, Math.min(PROBE_BYTES, image.length), { signal: options.signal });
      bytesRead += head.length;
      compared();
      if (head.equals(image.subarray(0, head.length))) {
        // Same start: the bin's sectors are read whole, so either they match exactly or writeImage gets
        // all of what they hold to plan from.
        const rest = await readRange(session, partition, head.length, tailStart - head.length, { signal: options.signal, onProgress: (done) => options.onEvent?.({ type: 'progress', phase: 'compare', done: head!.length + done, total: tailStart, unit: 'bytes' }) });
        bytesRead += rest.length;
        current = Buffer.concat([head, rest]);
        if (current.equals(desired)) {
          options.onEvent?.({ type: 'log', level: 'info', message: `${label} already holds these ${image.length} bytes` });
          const settled = await settleTail(module, partition, tail, options);
          bytesRead += settled.bytesRead;
          report = { partition: label, offset: 0, length: image.length, unchanged: settled.erasedSectors === 0, erasedSectors: settled.erasedSectors, bytesWritten: 0, bytesRead, bytesVerified: 0, recoveries: 0, verified: true };
          exactness = `read ${sectorsText(0, tailStart)}${settled.exactness ? `; ${settled.exactness}` : ''}`;
        }
      }
    }
  } catch (error) {
    if (error instanceof AtPkiError && error.details.deviceState === undefined) {
      error.details.deviceState = session.suspectEvents === suspectAtStart ? `unchanged: nothing was erased or written on ${label}` : `unknown: a garbled command may have changed ${label}; run the update again`;
    }
    throw error;
  }
  if (!report) {
    const written = await writeImage(session, partition, 0, desired, {
      signal: options.signal,
      onEvent: options.onEvent,
      force: options.force,
      current,
      head,
      compareTotal: tailStart,
      eraseAfter: tail,
      callerRechecksGarbled: true,
    });
    report = { ...written, length: image.length, bytesRead: written.bytesRead + bytesRead };
    exactness = `${written.unchanged ? 'read' : 'read back'} ${sectorsText(0, tailStart)}${tail.length > 0 ? `; erased ${sectorsText(tail.offset, tail.length)}` : ''}`;
  }

  let repairedSectors = 0;
  if (session.suspectEvents !== suspectAtStart) {
    const full = Buffer.alloc(partition.size, 0xff);
    full.set(image);
    const recheck = await recheckWhole(module, partition, full, options);
    repairedSectors = recheck.repaired;
    report = {
      ...report,
      unchanged: report.unchanged && recheck.repaired === 0,
      bytesRead: report.bytesRead + recheck.bytesRead,
      bytesVerified: report.bytesVerified + recheck.bytesRead,
      erasedSectors: report.erasedSectors + recheck.repaired,
      bytesWritten: report.bytesWritten + recheck.bytesWritten,
    };
    exactness = `read back all of ${label} (${sectorsText(0, partition.size)}) after a garbled command${recheck.repaired ? `, ${recheck.repaired} sector(s) erased and rewritten` : ''}`;
  }
  return { ...report, length: image.length, partitionSize: partition.size, durationMs: Math.round(performance.now() - started), exactness, repairedSectors };
}

/**
 * The bin is there already: prove the sectors after it hold only 0xFF, by reading them or by erasing
 * them, whichever is cheaper at this line rate. A read that finds anything else erases those sectors.
 */
async function settleTail(
  module: EspAtModule,
  partition: Partition,
  tail: { offset: number; length: number },
  options: UpdateOptions,
): Promise<{ bytesRead: number; erasedSectors: number; exactness: string }> {
  if (tail.length === 0) return { bytesRead: 0, erasedSectors: 0, exactness: '' };
  const session = module.session;
  const emit = options.onEvent ?? ignoreEvents;
  const range = `0x${tail.offset.toString(16)}–0x${(tail.offset + tail.length - 1).toString(16)}`;
  const sectors = tail.length / SECTOR_SIZE;
  const commands = Math.ceil(tail.length / MAX_TRANSFER);
  // Per read command: the command line and its echo, the header and the result (~60 bytes).
  const readMs = session.wireTimeMs(tail.length + commands * 60);
  const eraseMs = sectors * SECTOR_ERASE_ESTIMATE_MS + session.wireTimeMs(100);
  let toErase: number[] = [];
  let bytesRead = 0;
  let how: string;
  if (readMs <= eraseMs) {
    const content = await readRange(session, partition, tail.offset, tail.length, { signal: options.signal });
    bytesRead = content.length;
    for (let s = 0; s < sectors; s++) if (!isErased(content.subarray(s * SECTOR_SIZE, (s + 1) * SECTOR_SIZE))) toErase.push(tail.offset + s * SECTOR_SIZE);
    how = `read ${range} (all 0xFF${toErase.length ? ` except ${toErase.length} sector(s), erased` : ''})`;
    if (toErase.length) emit({ type: 'log', level: 'warn', message: `${partition.label} holds the bin, but stale bytes follow it; erasing ${toErase.length} sector(s)` });
  } else {
    toErase = Array.from({ length: sectors }, (_, s) => tail.offset + s * SECTOR_SIZE);
    how = `erased ${range} (cheaper than reading it at ${session.transport.baudRate} baud)`;
  }
  if (toErase.length === 0) return { bytesRead, erasedSectors: 0, exactness: how };
  emit({ type: 'progress', phase: 'erase', done: 0, total: toErase.length, unit: 'sectors' });
  let erased = 0;
  try {
    for (const run of mergeEraseRuns(toErase)) {
      await eraseRange(session, partition, run.offset, run.length, { signal: options.signal });
      erased += run.length / SECTOR_SIZE;
      emit({ type: 'progress', phase: 'erase', done: erased, total: toErase.length, unit: 'sectors' });
    }
  } catch (error) {
    if (error instanceof AtPkiError) {
      error.details.deviceState = `modified: erasing sector(s) after the bin from 0x${toErase[0]!.toString(16)} of ${partition.label} (the bin itself is intact); run the update again`;
    }
    throw error;
  }
  return { bytesRead, erasedSectors: toErase.length, exactness: how };
}

/**
 * After a garbled command the module may have erased or written anywhere in the partition: read all
 * of it, erase and rewrite every sector that differs from `full`, and repeat until one read matches
 * with no new garbled command on the way.
 */
async function recheckWhole(
  module: EspAtModule,
  partition: Partition,
  full: Buffer,
  options: UpdateOptions,
): Promise<{ bytesRead: number; repaired: number; bytesWritten: number }> {
  const session = module.session;
  const emit = options.onEvent ?? ignoreEvents;
  let bytesRead = 0;
  let repaired = 0;
  let bytesWritten = 0;
  const fixed = new Set<number>();
  emit({ type: 'log', level: 'warn', message: `a command to ${partition.label} was garbled on the line; reading back the whole partition` });
  try {
    for (let round = 0; round < RECHECK_ROUNDS; round++) {
      const before = session.suspectEvents;
      const content = await readRange(session, partition, 0, partition.size, {
        signal: options.signal,
        onProgress: (done) => emit({ type: 'progress', phase: 'verify', done, total: partition.size, unit: 'bytes' }),
      });
      bytesRead += content.length;
      const bad: number[] = [];
      for (let s = 0; s < partition.size; s += SECTOR_SIZE) {
        if (!content.subarray(s, s + SECTOR_SIZE).equals(full.subarray(s, s + SECTOR_SIZE))) bad.push(s);
      }
      if (bad.length === 0 && session.suspectEvents === before) return { bytesRead, repaired, bytesWritten };
      for (const sector of bad) {
        emit({ type: 'log', level: 'warn', message: `sector 0x${sector.toString(16)} of ${partition.label} is wrong; erasing and rewriting it` });
        fixed.add(sector);
        await eraseRange(session, partition, sector, SECTOR_SIZE, { signal: options.signal });
        const want = full.subarray(sector, sector + SECTOR_SIZE);
        let end = want.length;
        while (end > 0 && want[end - 1] === 0xff) end--;
        end = Math.ceil(end / 4) * 4;
        if (end > 0) await writeChunk(session, partition, sector, want.subarray(0, end), { signal: options.signal });
        bytesWritten += end;
        repaired++;
      }
    }
  } catch (error) {
    if (error instanceof AtPkiError) {
      error.details.deviceState = `modified: ${partition.label} was being re-checked after a garbled command${fixed.size ? ` (sector(s) ${[...fixed].map((n) => `0x${n.toString(16)}`).join(', ')} erased and rewritten)` : ''}; its content is not proven — run the update again`;
    }
    throw error;
  }
  throw new VerifyError(`verification failed: ${partition.label} still differs from the bin after ${RECHECK_ROUNDS} full re-reads (the line is too noisy)`, {
    details: { partition: partition.label, deviceState: `modified: sector(s) ${[...fixed].map((n) => `0x${n.toString(16)}`).join(', ')} of ${partition.label} were rewritten; its content is not proven — run the update again` },
  });
}
