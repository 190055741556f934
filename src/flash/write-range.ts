import type { AtSession } from '../at/session.js';
import type { EventSink } from './events.js';
import { type Partition, SECTOR_SIZE } from './partition-table.js';
import { checkRange, checkWriteAlignment } from './range-checks.js';
import { readRange } from './read-range.js';
import { writeImage, type WriteReport } from './write-image.js';

/**
 * Write `bytes` at any 4-byte aligned offset of a partition and keep everything else: the sectors
 * the range touches are read whole first, so bytes around the range survive the erase of a sector.
 */
export async function writeRange(
  session: AtSession,
  partition: Partition,
  offset: number,
  bytes: Uint8Array,
  options: { signal?: AbortSignal; onEvent?: EventSink; force?: boolean } = {},
): Promise<WriteReport> {
  checkWriteAlignment(offset, 'write');
  checkRange(partition, offset, bytes.length, 'write');
  const start = Math.floor(offset / SECTOR_SIZE) * SECTOR_SIZE;
  const end = Math.min(partition.size, Math.ceil((offset + bytes.length) / SECTOR_SIZE) * SECTOR_SIZE);
  const total = end - start;
  const current = await readRange(session, partition, start, total, {
    signal: options.signal,
    onProgress: (done) => options.onEvent?.({ type: 'progress', phase: 'compare', done, total, unit: 'bytes' }),
  });
  const desired = Buffer.from(current);
  desired.set(bytes, offset - start);
  const report = await writeImage(session, partition, start, desired, { ...options, current: options.force ? undefined : current });
  return { ...report, bytesRead: report.bytesRead + total };
}
