import type { AtSession } from '../at/session.js';
import type { Partition } from './partition-table.js';
import { MAX_TRANSFER, readChunk } from './sysflash.js';

/** Read `length` bytes at `offset` in chunks the firmware can take, reporting bytes done. */
export async function readRange(
  session: AtSession,
  partition: Partition,
  offset: number,
  length: number,
  options: { signal?: AbortSignal; onProgress?: (done: number) => void } = {},
): Promise<Buffer> {
  const out = Buffer.alloc(length);
  for (let done = 0; done < length; ) {
    const n = Math.min(MAX_TRANSFER, length - done);
    const chunk = await readChunk(session, partition, offset + done, n, options);
    chunk.copy(out, done);
    done += n;
    options.onProgress?.(done);
  }
  return out;
}
