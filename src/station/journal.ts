/**
 * The job journal: an append-only JSON-lines file, one record per line, each flushed to disk (fsync)
 * before the call that wrote it returns. A job is acknowledged (202) only after its `accepted` record
 * is on disk, and touches its module only after its `started` record is; so after a crash the next
 * run knows every job that was queued or running (see recovery.ts).
 *
 * It never holds credential bytes: bins are recorded as SHA-256 + length (BinSummary), read results
 * as their SHA-256 and length without the data.
 *
 * A crash can leave a torn last line; it is skipped (with a warning) when reading and the next record
 * starts on a fresh line.
 */
import { constants } from 'node:fs';
import { mkdir, open, readFile, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { ApiErrorBody, JobRecovery, JobSpec, JobState } from './api-types.js';

export const JOURNAL_VERSION = 1;

export type JournalRecord =
  | { v: 1; type: 'daemon-start'; time: string; pid: number; version: string }
  | { v: 1; type: 'daemon-stop'; time: string; pid: number }
  | { v: 1; type: 'accepted'; time: string; id: string; job: JobSpec; warnings?: string[] }
  | { v: 1; type: 'started'; time: string; id: string }
  | {
      v: 1;
      type: 'finished';
      time: string;
      id: string;
      state: Extract<JobState, 'succeeded' | 'failed' | 'cancelled' | 'interrupted'>;
      result?: Record<string, unknown>;
      error?: ApiErrorBody;
    }
  /** After a restart: what an interrupted update left in its partition. */
  | { v: 1; type: 'checked'; time: string; id: string; recovery: JobRecovery }
  /** Station mode: a unit's outcome in a bay, as the ledger recorded it (refused: no set was bound). */
  | {
      v: 1;
      type: 'unit';
      time: string;
      bay: string;
      device: string;
      batch?: string;
      /** The set's name, or the issued certificate's serial. */
      set?: string;
      assignmentId?: number;
      outcome: 'verified' | 'failed' | 'suspect' | 'refused';
      reason?: string;
      code?: string;
      bytesWritten?: number;
    };

/** A record without the version and time stamp, which append() adds. */
export type JournalEntry = DistributiveOmit<JournalRecord, 'v' | 'time'>;
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

export interface JournalContents {
  records: JournalRecord[];
  /** Lines that could not be read (a torn last line after a crash, or damage). */
  warnings: string[];
}

export class Journal {
  readonly path: string;
  readonly #file: FileHandle;
  #tail: Promise<void> = Promise.resolve();
  #needsNewline: boolean;
  #closed = false;

  private constructor(path: string, file: FileHandle, needsNewline: boolean) {
    this.path = path;
    this.#file = file;
    this.#needsNewline = needsNewline;
  }

  /** Open (creating it, mode 0600, and its folder) and read what is already there. */
  static async open(path: string): Promise<{ journal: Journal; contents: JournalContents }> {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    let text = '';
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'ENOENT') throw error;
    }
    const contents = parseJournal(text);
    const file = await open(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, 0o600);
    if (text === '') await syncDirectory(dirname(path));
    return { journal: new Journal(path, file, text !== '' && !text.endsWith('\n')), contents };
  }

  /** Append one record and fsync. Records are written in call order; a failed write rejects its own call only. */
  append(entry: JournalEntry): Promise<void> {
    const record = { v: JOURNAL_VERSION, time: new Date().toISOString(), ...entry } as JournalRecord;
    const run = async (): Promise<void> => {
      if (this.#closed) throw new Error(`journal ${this.path} is closed`);
      const line = `${this.#needsNewline ? '\n' : ''}${JSON.stringify(record)}\n`;
      await this.#file.write(line);
      this.#needsNewline = false;
      await this.#file.datasync();
    };
    const done = this.#tail.then(run, run);
    this.#tail = done.catch(() => {});
    return done;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    await this.#tail;
    this.#closed = true;
    await this.#file.close();
  }
}

/** The records of a journal file's text, skipping (and reporting) lines that are not records. */
export function parseJournal(text: string): JournalContents {
  const records: JournalRecord[] = [];
  const warnings: string[] = [];
  const lines = text.split('\n');
  lines.forEach((line, index) => {
    if (line.trim() === '') return;
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch {
      const torn = index === lines.length - 1;
      warnings.push(`line ${index + 1}${torn ? ' (the last, probably torn by a crash)' : ''} is not JSON; skipped`);
      return;
    }
    if (!isRecord(record)) {
      warnings.push(`line ${index + 1} is not a journal record; skipped`);
      return;
    }
    records.push(record);
  });
  return { records, warnings };
}

function isRecord(value: unknown): value is JournalRecord {
  if (typeof value !== 'object' || value === null) return false;
  const r = value as Record<string, unknown>;
  if (r.v !== JOURNAL_VERSION || typeof r.type !== 'string' || typeof r.time !== 'string') return false;
  switch (r.type) {
    case 'daemon-start':
    case 'daemon-stop':
      return true;
    case 'accepted':
      return typeof r.id === 'string' && typeof r.job === 'object' && r.job !== null;
    case 'started':
      return typeof r.id === 'string';
    case 'finished':
      return typeof r.id === 'string' && typeof r.state === 'string';
    case 'checked':
      return typeof r.id === 'string' && typeof r.recovery === 'object' && r.recovery !== null;
    case 'unit':
      return typeof r.bay === 'string' && typeof r.device === 'string' && typeof r.outcome === 'string';
    default:
      return false;
  }
}

/** Make a new file's directory entry durable too (best effort: not every file system allows it). */
async function syncDirectory(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, constants.O_RDONLY);
    await handle.sync();
  } catch {
    // e.g. EISDIR/EINVAL on some platforms: nothing more we can do
  } finally {
    await handle?.close().catch(() => {});
  }
}
