import type { AtSession } from '../at/session.js';
import { sysflashReadPayload } from '../at/framer.js';
import { quoteAtString } from '../at/syntax.js';
import { ProtocolError, TimeoutError } from '../errors.js';
import { noteChangeSent } from './changes-sent.js';
import { parsePartitionTable, type Partition, SECTOR_SIZE } from './partition-table.js';

/**
 * The AT+SYSFLASH commands, one call each (protocol §2). Callers keep to the firmware's limits:
 * at most MAX_TRANSFER bytes per write or read, 4-byte aligned writes, 4 KiB aligned erases.
 */

/** Largest write or read per command: bigger reads corrupt memory on many firmware versions (§2.6). */
export const MAX_TRANSFER = 4096;

/** Generous time budgets for the module's own flash work; real erases take ~45 ms a sector. */
const ERASE_MS_PER_SECTOR = 300;
const PROGRAM_MS_PER_KIB = 40;

export interface Options {
  signal?: AbortSignal;
}

/**
 * Extra attempts for a command that timed out or whose answer did not parse: one garbled byte (a lost
 * line end, a mangled `OK`, a read header) must cost a retry, not the job. Every SYSFLASH command is
 * idempotent (an erase twice, the same bytes written twice, a read twice), and the session resyncs
 * (filling any data phase with 0xFF) before the next attempt.
 */
const LINE_RETRIES = 2;

export async function retryOnLineFault<T>(options: Options, run: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await run();
    } catch (error) {
      const lineFault = error instanceof TimeoutError || error instanceof ProtocolError;
      if (!lineFault || attempt >= LINE_RETRIES || options.signal?.aborted) throw error;
    }
  }
}

export async function queryPartitions(session: AtSession, options: Options = {}): Promise<Partition[]> {
  const answer = await session.command('AT+SYSFLASH?', options);
  return parsePartitionTable(answer.lines);
}

/** Erase `length` bytes at `offset` (both multiples of 4 KiB); the whole partition when they cover it. */
export async function eraseRange(session: AtSession, partition: Partition, offset: number, length: number, options: Options = {}): Promise<void> {
  const label = quoteAtString(partition.label);
  const whole = offset === 0 && length === partition.size;
  const command = whole ? `AT+SYSFLASH=0,${label}` : `AT+SYSFLASH=0,${label},${offset},${length}`;
  noteChangeSent(session, options.signal);
  await retryOnLineFault(options, () => session.command(command, { ...options, workTimeMs: (length / SECTOR_SIZE) * ERASE_MS_PER_SECTOR }));
}

/** Write `bytes` at `offset`: the command, the `>` prompt, exactly `bytes.length` raw bytes, OK. */
export async function writeChunk(session: AtSession, partition: Partition, offset: number, bytes: Uint8Array, options: Options = {}): Promise<void> {
  const command = `AT+SYSFLASH=1,${quoteAtString(partition.label)},${offset},${bytes.length}`;
  noteChangeSent(session, options.signal);
  await retryOnLineFault(options, () => session.command(command, { ...options, data: bytes, workTimeMs: (bytes.length / 1024) * PROGRAM_MS_PER_KIB }));
}

/** Read `length` bytes at `offset`: `+SYSFLASH:<n>,` then exactly n raw bytes, then OK. */
export async function readChunk(session: AtSession, partition: Partition, offset: number, length: number, options: Options = {}): Promise<Buffer> {
  const command = `AT+SYSFLASH=2,${quoteAtString(partition.label)},${offset},${length}`;
  return retryOnLineFault(options, async () => {
    const answer = await session.command(command, { ...options, payload: sysflashReadPayload, responseBytes: length });
    if (!answer.payload) throw new ProtocolError(`the module answered ${command} with OK but sent no data`);
    if (answer.payload.length !== length) {
      throw new ProtocolError(`asked the module for ${length} bytes at offset ${offset} of ${partition.label}, it sent ${answer.payload.length}`);
    }
    return answer.payload;
  });
}
