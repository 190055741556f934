/**
 * One job as the daemon holds it: its state, the events it produced (replayed to late listeners of
 * `GET /jobs/:id/events`), its outcome, and the bin while it is needed. The bin is zeroed and
 * dropped as soon as the job is finished: credentials live in memory only while they are useful.
 */
import type { ApiErrorBody, EndEvent, JobEvent, JobRecovery, JobSpec, JobState, JobView } from './api-types.js';
import { wipeCredentials, type Credentials } from './bin-input.js';

/** Past events kept per job; beyond this, progress events are passed to live listeners only. */
const MAX_STORED_EVENTS = 2000;

export type JobListener = (event: JobEvent) => void;

export class Job {
  readonly id: string;
  readonly spec: JobSpec;
  readonly createdAt: Date;
  state: JobState = 'queued';
  startedAt: Date | undefined;
  finishedAt: Date | undefined;
  result: Record<string, unknown> | undefined;
  error: ApiErrorBody | undefined;
  recovery: JobRecovery | undefined;
  warnings: string[];
  /** The bin (and its items) to write or compare with, while the job is not finished. */
  credentials: Credentials | undefined;
  /** Aborted to take the job out of its queue (cancel, port wait expired, shutdown). Never once running. */
  readonly dequeue = new AbortController();
  /** Aborted to stop a running job at its next safe point (timeout, shutdown). */
  readonly stop = new AbortController();
  /** Whether the `started` record was written (the module may have been touched). */
  started = false;
  readonly #events: JobEvent[] = [];
  readonly #listeners = new Set<JobListener>();
  readonly #done: Promise<void>;
  #resolveDone!: () => void;

  constructor(id: string, spec: JobSpec, options: { createdAt?: Date; credentials?: Credentials; warnings?: string[] } = {}) {
    this.id = id;
    this.spec = spec;
    this.createdAt = options.createdAt ?? new Date();
    this.credentials = options.credentials;
    this.warnings = options.warnings ?? [];
    this.#done = new Promise((resolve) => {
      this.#resolveDone = resolve;
    });
  }

  get isFinished(): boolean {
    return this.state !== 'queued' && this.state !== 'running';
  }

  /** Resolves once the job is finished. */
  get done(): Promise<void> {
    return this.#done;
  }

  /** Past events (for a finished job restored from the journal: only its `end`). */
  get events(): readonly JobEvent[] {
    if (this.#events.length === 0 && this.isFinished) return [this.endEvent()];
    return this.#events;
  }

  emit(event: JobEvent): void {
    if (this.isFinished) return;
    if (this.#events.length < MAX_STORED_EVENTS || event.type !== 'progress') this.#events.push(event);
    for (const listener of this.#listeners) listener(event);
  }

  /** Listen to future events. Returns the unsubscribe function. */
  subscribe(listener: JobListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  markRunning(): void {
    this.state = 'running';
    this.startedAt = new Date();
  }

  /** Set the outcome, emit `end`, release listeners and the bin. Idempotent: the first outcome wins. */
  finish(state: Exclude<JobState, 'queued' | 'running'>, outcome: { result?: Record<string, unknown>; error?: ApiErrorBody }): boolean {
    if (this.isFinished) return false;
    this.finishedAt = new Date();
    this.result = outcome.result;
    this.error = outcome.error;
    const end = this.#endFor(state);
    this.#events.push(end);
    for (const listener of this.#listeners) listener(end);
    this.state = state;
    this.#listeners.clear();
    wipeCredentials(this.credentials);
    this.credentials = undefined;
    this.#resolveDone();
    return true;
  }

  /** The `end` event: the result without `data` (read jobs' bytes are only in GET /jobs/:id). */
  endEvent(): EndEvent {
    return this.#endFor(this.state);
  }

  #endFor(state: JobState): EndEvent {
    if (state === 'succeeded') return { type: 'end', ok: true, result: publicResult(this.result ?? {}) };
    return { type: 'end', ok: false, error: this.error ?? { code: 'INTERNAL', message: `job ${state}` } };
  }

  view(position?: number): JobView {
    const view: JobView = {
      id: this.id,
      state: this.state,
      type: this.spec.type,
      port: this.spec.port,
      request: this.spec,
      createdAt: this.createdAt.toISOString(),
    };
    if (this.spec.partition !== undefined) view.partition = this.spec.partition;
    if (this.startedAt) view.startedAt = this.startedAt.toISOString();
    if (this.finishedAt) view.finishedAt = this.finishedAt.toISOString();
    if (position !== undefined) view.position = position;
    if (this.warnings.length > 0) view.warnings = this.warnings;
    if (this.result) view.result = this.result;
    if (this.error) view.error = this.error;
    if (this.recovery) view.recovery = this.recovery;
    return view;
  }

  /** Restore a finished job (from the journal). */
  static restored(
    id: string,
    spec: JobSpec,
    record: { createdAt: Date; startedAt?: Date; finishedAt?: Date; state: Exclude<JobState, 'queued' | 'running'>; result?: Record<string, unknown>; error?: ApiErrorBody; warnings?: string[] },
  ): Job {
    const job = new Job(id, spec, { createdAt: record.createdAt, warnings: record.warnings });
    job.startedAt = record.startedAt;
    job.started = record.startedAt !== undefined;
    job.finish(record.state, { result: record.result, error: record.error });
    job.finishedAt = record.finishedAt ?? job.finishedAt;
    job.#events.length = 0;
    return job;
  }
}

/** A result as it may appear in events and the journal: never the bytes a read returned. */
export function publicResult(result: Record<string, unknown>): Record<string, unknown> {
  if (!('data' in result)) return result;
  const { data: _data, ...rest } = result;
  return rest;
}
