import type { AtSession } from '../at/session.js';
import type { EventSink } from './events.js';
import { type Partition, SECTOR_SIZE } from './partition-table.js';
import { checkRange, checkWriteAlignment } from './range-checks.js';
import { readRange } from './read-range.js';
import { isErased, PROBE_BYTES, writeImage, type WriteReport } from './write-image.js';

/**
 * Write `bytes` at any 4-byte aligned offset of a partition and keep everything else. Only what must
 * survive is read first: the parts of the first and last sector outside the range (an erase clears
 * whole sectors). What the range itself holds is never read, since it is about to be overwritten:
 * - a range no longer than a probe is read whole (as cheap as the probe) and written only if it differs;
 * - when the probe at the range's start finds erased flash, the rest is taken to be erased too and
 *   written without an erase; the read-back covers everything and any sector that was not erased
 *   after all is erased and written again;
 * - otherwise (or with `force`) every sector the range touches is erased and written (a sector erase
 *   costs far less wire time than reading the sector first).
 * The report gives the range as asked (`offset`, `length`), not the sectors around it.
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
  const { signal, onEvent } = options;
  const end = offset + bytes.length;
  const start = Math.floor(offset / SECTOR_SIZE) * SECTOR_SIZE;
  const stop = Math.min(partition.size, Math.ceil(end / SECTOR_SIZE) * SECTOR_SIZE);
  const probeLength = options.force ? 0 : Math.min(PROBE_BYTES, bytes.length);
  const total = offset - start + probeLength + (stop - end);

  let bytesRead = 0;
  const read = async (from: number, length: number): Promise<Buffer> => {
    if (length === 0) return Buffer.alloc(0);
    const before = bytesRead;
    const chunk = await readRange(session, partition, from, length, {
      signal,
      onProgress: (done) => onEvent?.({ type: 'progress', phase: 'read', done: before + done, total, unit: 'bytes' }),
    });
    bytesRead += length;
    return chunk;
  };
  if (total > 0) onEvent?.({ type: 'progress', phase: 'read', done: 0, total, unit: 'bytes' });
  const keepBefore = await read(start, offset - start);
  const probe = await read(offset, probeLength);
  const keepAfter = await read(end, stop - end);

  const desired = Buffer.concat([keepBefore, bytes, keepAfter]);
  let current: Buffer | undefined;
  let currentIsGuess = false;
  if (!options.force) {
    if (probeLength === bytes.length) {
      current = Buffer.concat([keepBefore, probe, keepAfter]);
    } else if (isErased(probe) && !isErased(bytes)) {
      // (All-0xFF bytes on a guessed-erased range would plan nothing: such a write erases instead.)
      current = Buffer.concat([keepBefore, Buffer.alloc(bytes.length, 0xff), keepAfter]);
      currentIsGuess = true;
    }
  }
  const report = await writeImage(session, partition, start, desired, {
    signal,
    onEvent,
    force: current === undefined,
    current,
    currentIsGuess,
  });
  return { ...report, offset, length: bytes.length, bytesRead: report.bytesRead + bytesRead };
}
