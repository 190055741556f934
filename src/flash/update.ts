import { AtPkiError, InputError } from '../errors.js';
import { ignoreEvents, type EventSink } from './events.js';
import type { EspAtModule } from './module.js';
import { type Partition, SECTOR_SIZE } from './partition-table.js';
import { readRange } from './read-range.js';
import { eraseRange } from './sysflash.js';
import { writeImage, type WriteReport } from './write-image.js';

export interface UpdateOptions {
  signal?: AbortSignal;
  onEvent?: EventSink;
  /** Rewrite even when the module already holds exactly this bin. @default false */
  force?: boolean;
}

export interface UpdateReport extends WriteReport {
  partitionSize: number;
  durationMs: number;
}

/**
 * Put a bin at the start of a partition: check it exists and the bin fits → compare with what the module
 * holds and stop if it is the same → erase only the sectors that need it → write → read back and
 * compare. The partition ends up holding exactly the bin followed by 0xFF (no stale item of an older,
 * longer bin survives): the bin's last sector is compared and written whole (bin, then 0xFF), the
 * sectors after it are erased whenever anything changes, and when nothing changed the start of each
 * is probed and the rest of the partition erased if one holds anything (an older, longer image written
 * by another tool, or an erase cut off by a power loss).
 */
export async function updatePartition(module: EspAtModule, label: string, bin: Uint8Array, options: UpdateOptions = {}): Promise<UpdateReport> {
  const started = performance.now();
  if (bin.length === 0) throw new InputError('refusing to write an empty bin');
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
  let report = await writeImage(module.session, partition, 0, desired, {
    signal: options.signal,
    onEvent: options.onEvent,
    force: options.force,
    eraseAfter: tail,
  });
  if (report.unchanged && tail.length > 0) report = await eraseStaleTail(module, partition, tail, report, options);
  return { ...report, length: image.length, partitionSize: partition.size, durationMs: Math.round(performance.now() - started) };
}

/**
 * Bytes probed at the start of each sector after the bin when nothing else changed. A whole read of
 * the rest would cost more than rewriting everything; this finds what actually leaves stale bytes
 * there: an older, longer bin (its items run on contiguously from the bin's end, so the next sector
 * starts with them), and sectors an interrupted erase did not reach (an erase clears whole sectors).
 */
const TAIL_PROBE_BYTES = 64;

/** The bin is there already: make sure only 0xFF follows it, erasing the rest of the partition if not. */
async function eraseStaleTail(
  module: EspAtModule,
  partition: Partition,
  tail: { offset: number; length: number },
  report: WriteReport,
  options: UpdateOptions,
): Promise<WriteReport> {
  const emit = options.onEvent ?? ignoreEvents;
  const sectorCount = tail.length / SECTOR_SIZE;
  let bytesRead = report.bytesRead;
  let stale = false;
  for (let i = 0; i < sectorCount && !stale; i++) {
    const probe = await readRange(module.session, partition, tail.offset + i * SECTOR_SIZE, TAIL_PROBE_BYTES, { signal: options.signal });
    bytesRead += probe.length;
    stale = probe.some((byte) => byte !== 0xff);
  }
  if (!stale) return { ...report, bytesRead };
  const sectors = tail.length / SECTOR_SIZE;
  emit({ type: 'log', level: 'warn', message: `${partition.label} holds the bin, but stale bytes follow it; erasing the rest of the partition` });
  emit({ type: 'progress', phase: 'erase', done: 0, total: sectors, unit: 'sectors' });
  try {
    await eraseRange(module.session, partition, tail.offset, tail.length, { signal: options.signal });
  } catch (error) {
    if (error instanceof AtPkiError) {
      error.details.deviceState = `modified: erasing the sector(s) after the bin from 0x${tail.offset.toString(16)} of ${partition.label}; run the operation again`;
    }
    throw error;
  }
  emit({ type: 'progress', phase: 'erase', done: sectors, total: sectors, unit: 'sectors' });
  return { ...report, unchanged: false, erasedSectors: sectors, bytesRead };
}
