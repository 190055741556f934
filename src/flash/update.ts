import { InputError } from '../errors.js';
import type { EventSink } from './events.js';
import type { EspAtModule } from './module.js';
import { SECTOR_SIZE } from './partition-table.js';
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
 * compare. When anything changes, the sectors after the bin are erased too, so the partition ends up
 * holding exactly the bin followed by 0xFF (no stale item of an older, longer bin survives).
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
  const tailStart = Math.ceil(image.length / SECTOR_SIZE) * SECTOR_SIZE;
  const report = await writeImage(module.session, partition, 0, image, {
    signal: options.signal,
    onEvent: options.onEvent,
    force: options.force,
    eraseAfter: { offset: tailStart, length: Math.max(0, partition.size - tailStart) },
  });
  return { ...report, partitionSize: partition.size, durationMs: Math.round(performance.now() - started) };
}
