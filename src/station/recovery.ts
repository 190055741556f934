/**
 * After a crash (or kill -9, or power loss): rebuild the job table from the journal. A job with an
 * `accepted` record but no `finished` record was queued or running when the daemon died; it is now
 * `interrupted`. For an interrupted update that had started, the partition may hold anything, so
 * once its port is up the partition is read back and compared with the bin's SHA-256 (the journal
 * keeps the hash, never the bin): "holds the new bin" or "does not hold it" — the operator knows
 * whether to run the job again without guessing.
 */
import { InputError } from '../errors.js';
import type { EspAtModule } from '../flash/module.js';
import { readRange } from '../flash/read-range.js';
import type { ApiErrorBody, JobRecovery, JobSpec } from './api-types.js';
import { Job } from './job.js';
import { sha256 } from './job-runner.js';
import type { JournalRecord } from './journal.js';

export interface ReplayResult {
  /** Finished jobs of earlier runs (the newest `history`), interrupted ones included. */
  jobs: Job[];
  /** Jobs this replay found unfinished and marked interrupted (their `finished` record is still to be written). */
  newlyInterrupted: Job[];
  /** Interrupted updates whose partition is still to be checked. */
  toCheck: Job[];
}

interface Entry {
  accepted: Extract<JournalRecord, { type: 'accepted' }>;
  started?: Extract<JournalRecord, { type: 'started' }>;
  finished?: Extract<JournalRecord, { type: 'finished' }>;
  checked?: Extract<JournalRecord, { type: 'checked' }>;
}

export function replayJournal(records: readonly JournalRecord[], options: { history: number }): ReplayResult {
  const entries = new Map<string, Entry>();
  for (const record of records) {
    if (record.type === 'accepted') entries.set(record.id, { accepted: record });
    else if (record.type === 'started' || record.type === 'finished' || record.type === 'checked') {
      const entry = entries.get(record.id);
      if (entry) entry[record.type] = record as never;
    }
  }

  const finished: Job[] = [];
  const newlyInterrupted: Job[] = [];
  const toCheck: Job[] = [];
  for (const [id, entry] of entries) {
    const spec = entry.accepted.job;
    const common = {
      createdAt: new Date(entry.accepted.time),
      startedAt: entry.started ? new Date(entry.started.time) : undefined,
      warnings: entry.accepted.warnings,
    };
    let job: Job;
    if (entry.finished) {
      job = Job.restored(id, spec, { ...common, finishedAt: new Date(entry.finished.time), state: entry.finished.state, result: entry.finished.result, error: entry.finished.error });
      finished.push(job);
    } else {
      job = Job.restored(id, spec, { ...common, state: 'interrupted', error: interruptedError(spec, entry.started !== undefined) });
      newlyInterrupted.push(job);
    }
    if (entry.checked) job.recovery = entry.checked.recovery;
    if (job.state === 'interrupted' && needsCheck(spec, entry.started !== undefined) && !entry.checked) {
      job.recovery = { partitionState: 'unknown', message: `not checked yet: waiting for port ${spec.port} to come up` };
      toCheck.push(job);
    }
  }
  const keep = new Set<Job>([...newlyInterrupted, ...toCheck, ...finished.slice(Math.max(0, finished.length - options.history))]);
  // In journal order (finished and newly interrupted jobs are interleaved in acceptance order).
  const order = new Map([...entries.keys()].map((id, index) => [id, index]));
  const jobs = [...keep].sort((a, b) => order.get(a.id)! - order.get(b.id)!);
  return { jobs, newlyInterrupted, toCheck };
}

function needsCheck(spec: JobSpec, started: boolean): boolean {
  return started && spec.type === 'update' && spec.bin !== undefined && spec.partition !== undefined;
}

function interruptedError(spec: JobSpec, started: boolean): ApiErrorBody {
  if (!started) {
    return {
      code: 'INTERRUPTED',
      message: 'the daemon stopped while this job was queued; it never started',
      details: { deviceState: 'unchanged: the job never started' },
    };
  }
  const deviceState =
    spec.type === 'update' ? `unknown until checked: the daemon stopped while writing ${spec.partition}` : 'unchanged: the job only reads';
  return { code: 'INTERRUPTED', message: 'the daemon stopped while this job was running', details: { deviceState } };
}

/** Read the partition back and compare with the interrupted job's bin (by SHA-256). */
export async function checkInterruptedUpdate(module: EspAtModule, spec: JobSpec, signal: AbortSignal): Promise<JobRecovery> {
  const label = spec.partition!;
  const bin = spec.bin!;
  const checkedAt = new Date().toISOString();
  let partition;
  try {
    partition = await module.partition(label, { signal });
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    return { partitionState: 'unknown', checkedAt, message: `cannot check: ${error.message}` };
  }
  if (bin.bytes > partition.size) {
    return { partitionState: 'does-not-hold-new-bin', checkedAt, message: `${label} (${partition.size} bytes) cannot hold the ${bin.bytes}-byte bin` };
  }
  const bytes = await readRange(module.session, partition, 0, bin.bytes, { signal });
  const holds = sha256(bytes) === bin.sha256;
  bytes.fill(0);
  return holds
    ? { partitionState: 'holds-new-bin', checkedAt, message: `${label} holds the job's bin (its first ${bin.bytes} bytes match SHA-256 ${bin.sha256.slice(0, 16)}…)` }
    : { partitionState: 'does-not-hold-new-bin', checkedAt, message: `${label} does not hold the job's bin: run the update again` };
}

/** The deviceState line of an interrupted job once its partition was checked. */
export function deviceStateAfterCheck(recovery: JobRecovery): string {
  return recovery.partitionState === 'unknown' ? `unknown: ${recovery.message}` : `checked after restart: ${recovery.message}`;
}
