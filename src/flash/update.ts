import { AtPkiError, InputError } from '../errors.js';
import { ignoreEvents, type EventSink } from './events.js';
import type { EspAtModule } from './module.js';
import { type Partition, SECTOR_SIZE } from './partition-table.js';
import { readRange } from './read-range.js';
import { eraseRange } from './sysflash.js';
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
}

/**
 * Put a bin at the start of a partition: check it exists and the bin fits → compare with what the module
 * holds and stop if it is the same → erase only the sectors that need it → write → read back and
 * compare. The partition ends up holding exactly the bin followed by 0xFF (no stale item of an older,
 * longer bin survives): when anything changes, the bin's last sector is compared and written whole
 * (bin, then 0xFF) and the sectors after it are erased. When the bin is already there, the bytes right
 * after it and the start of each later sector are probed, and whatever holds anything is cleared (an
 * older, longer image written by another tool, or an erase cut off by a power loss).
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
  const finish = (report: WriteReport): UpdateReport => ({ ...report, length: image.length, partitionSize: partition.size, durationMs: Math.round(performance.now() - started) });

  // Does the module hold this bin already? Compare the bin's bytes and probe what follows them, rather
  // than reading the bin's whole last sector: a re-run must cost well under a rewrite. The probes (the
  // bin's start, the bytes right after it, each later sector's start) find what leaves stale bytes
  // there: an older, longer bin (its items run on from the bin's end), and sectors an interrupted
  // erase did not reach (an erase clears whole sectors).
  let head: Buffer | undefined;
  let current: Buffer | undefined;
  let bytesRead = 0;
  const compared = (): void => options.onEvent?.({ type: 'progress', phase: 'compare', done: bytesRead, total: Math.max(bytesRead, image.length), unit: 'bytes' });
  if (!options.force) {
    head = await readRange(module.session, partition, 0, Math.min(PROBE_BYTES, image.length), { signal: options.signal });
    bytesRead += head.length;
    if (head.equals(image.subarray(0, head.length))) {
      compared();
      const rest = await readRange(module.session, partition, head.length, image.length - head.length, { signal: options.signal });
      bytesRead += rest.length;
      compared();
      const binRange = Buffer.concat([head, rest]);
      if (binRange.equals(image)) {
        const after = await readRange(module.session, partition, image.length, Math.min(PROBE_BYTES, tailStart - image.length), { signal: options.signal });
        bytesRead += after.length;
        if (isErased(after)) {
          const unchanged: WriteReport = { partition: label, offset: 0, length: image.length, unchanged: true, erasedSectors: 0, bytesWritten: 0, bytesRead, bytesVerified: 0, recoveries: 0, verified: true };
          options.onEvent?.({ type: 'log', level: 'info', message: `${label} already holds these ${image.length} bytes; nothing written` });
          return finish(tail.length > 0 ? await eraseStaleTail(module, partition, tail, unchanged, options) : unchanged);
        }
      }
      // Same start, but something differs: the rest of the last sector completes the comparison.
      const sectorRest = await readRange(module.session, partition, image.length, tailStart - image.length, { signal: options.signal });
      bytesRead += sectorRest.length;
      current = Buffer.concat([binRange, sectorRest]);
    }
  }
  const report = await writeImage(module.session, partition, 0, desired, {
    signal: options.signal,
    onEvent: options.onEvent,
    force: options.force,
    current,
    head,
    eraseAfter: tail,
  });
  return finish({ ...report, bytesRead: report.bytesRead + bytesRead });
}



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
    const probe = await readRange(module.session, partition, tail.offset + i * SECTOR_SIZE, PROBE_BYTES, { signal: options.signal });
    bytesRead += probe.length;
    stale = !isErased(probe);
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
