/**
 * The daemon's jobs: accept (check → journal → queue), run one at a time per port and ports in
 * parallel (a p-queue with concurrency 1 per port), cancel, report, and recover after a crash.
 *
 * Life of a job:
 * 1. `submit()` checks the request (job-request.ts, bin-input.ts), writes its `accepted` record
 *    (fsync) and queues it; only then is it acknowledged.
 * 2. Its turn comes: it waits for the port to be up (`queued` still; it fails once it has waited
 *    `jobs.portWaitMs` for a down port), writes `started` (fsync), becomes `running`, emits `begin`.
 * 3. It runs through the flash layer with an AbortSignal (`jobs.timeoutMs`, shutdown); it is never
 *    torn off mid-write: the signal is honoured at the next safe point.
 * 4. Its `finished` record is written, then `end` is emitted; the bin is zeroed and released.
 *
 * p-queue pitfalls handled here (see ecosystem notes §5.1): a task's `signal` passed to `add()` also
 * rejects the add() promise of a *running* task and lets the next one start, so the queue signal
 * (`job.dequeue`) is only ever aborted while the job is still queued; running jobs are stopped through
 * their own `job.stop` signal. Nothing uses `.clear()` or p-queue's timeout.
 */
import { randomUUID } from 'node:crypto';
import PQueue from 'p-queue';
import { AbortedError, AtPkiError, PortError, TimeoutError } from '../errors.js';
import type { OperationEvent } from '../flash/events.js';
import { delay } from '../transport/abortable.js';
import type { ApiErrorBody, JobState, JobView, PortStatus } from './api-types.js';
import type { JobsConfig } from './config.js';
import { errorBody, RequestError } from './errors.js';
import { Job, publicResult } from './job.js';
import { wipeCredentials } from './bin-input.js';
import { prepareJob } from './job-request.js';
import { performJob } from './job-runner.js';
import type { Journal, JournalRecord } from './journal.js';
import type { StationLogger } from './logger.js';
import type { StationMetrics } from './metrics.js';
import { isTimeout, type PortSupervisor } from './port-supervisor.js';
import { checkInterruptedUpdate, deviceStateAfterCheck, replayJournal } from './recovery.js';

/** After the shutdown grace ran out and running jobs were told to stop: how long to wait for their safe point. */
const SAFE_POINT_WAIT_MS = 15_000;
const NEVER_STARTED = 'unchanged: the job never started';

interface Lane {
  name: string;
  supervisor: PortSupervisor;
  queue: PQueue;
  /** Queued jobs, in order. */
  waiting: Job[];
  current: Job | undefined;
  /** Interrupted updates (from before a restart) whose partition is to be checked when the port is up. */
  checks: Set<Job>;
  checking: boolean;
  /** The port came up again while a check was under way. */
  recheck: boolean;
}

export interface JobServiceOptions {
  jobs: JobsConfig;
  supervisors: readonly PortSupervisor[];
  journal: Journal;
  metrics: StationMetrics;
  logger: StationLogger;
  /** Station-mode bays: their ports provision units on their own and take no jobs. */
  bays?: readonly string[];
}

export class JobService {
  readonly #options: JobServiceOptions;
  readonly #logger: StationLogger;
  readonly #jobs = new Map<string, Job>();
  /** Finished jobs, oldest first, for trimming the in-memory history. */
  readonly #finished: Job[] = [];
  readonly #lanes = new Map<string, Lane>();
  readonly #portWaitTimers = new Map<Job, NodeJS.Timeout>();
  readonly #completing = new Set<Job>();
  readonly #submitting = new Set<Promise<unknown>>();
  readonly #stopChecks = new AbortController();
  /** Cuts the shutdown grace short (a second SIGTERM/SIGINT). */
  readonly #hurry = new AbortController();
  #accepting = true;
  #shuttingDown = false;

  constructor(options: JobServiceOptions) {
    this.#options = options;
    this.#logger = options.logger;
    for (const supervisor of options.supervisors) {
      const lane: Lane = {
        name: supervisor.name,
        supervisor,
        queue: new PQueue({ concurrency: 1 }),
        waiting: [],
        current: undefined,
        checks: new Set(),
        checking: false,
        recheck: false,
      };
      this.#lanes.set(lane.name, lane);
      supervisor.on('up', () => this.#onUp(lane));
      supervisor.on('down', () => this.#onDown(lane));
      supervisor.on('reset', (line) => {
        lane.current?.emit({ type: 'log', level: 'warn', message: `the module on port ${lane.name} restarted (it printed "${line}")` });
      });
    }
  }

  get accepting(): boolean {
    return this.#accepting;
  }

  /** Rebuild the job table from the journal of earlier runs (once, before serving). */
  async restore(records: readonly JournalRecord[]): Promise<{ interrupted: number; toCheck: number }> {
    const replay = replayJournal(records, { history: this.#options.jobs.history });
    for (const job of replay.jobs) {
      this.#jobs.set(job.id, job);
      this.#finished.push(job);
    }
    for (const job of replay.newlyInterrupted) {
      await this.#options.journal.append({ type: 'finished', id: job.id, state: 'interrupted', error: job.error! });
      this.#options.metrics.jobFinished(job.spec.type, 'interrupted');
      this.#logger.warn({ job: job.id, port: job.spec.port, type: job.spec.type, partition: job.spec.partition, wasRunning: job.started }, 'job was interrupted by a daemon stop');
    }
    for (const job of replay.toCheck) {
      const lane = this.#lanes.get(job.spec.port);
      if (lane) lane.checks.add(job);
      else job.recovery = { partitionState: 'unknown', message: `cannot check: port ${job.spec.port} is no longer configured` };
    }
    for (const lane of this.#lanes.values()) this.#scheduleChecks(lane);
    return { interrupted: replay.newlyInterrupted.length, toCheck: replay.toCheck.length };
  }

  /** Check, journal and queue a job (POST /jobs). Rejects with RequestError/InputError (4xx) before anything is queued. */
  async submit(body: unknown): Promise<Job> {
    if (!this.#accepting) throw shuttingDown();
    const work = this.#submit(body);
    this.#submitting.add(work);
    try {
      return await work;
    } finally {
      this.#submitting.delete(work);
    }
  }

  async #submit(body: unknown): Promise<Job> {
    const port = (body as { port?: unknown } | null)?.port;
    if (typeof port === 'string' && this.#options.bays?.includes(port)) {
      throw new RequestError(409, 'PORT_IS_BAY', `port ${port} is a station-mode bay: it provisions the units plugged into it and takes no jobs`);
    }
    const prepared = await prepareJob(body, {
      ports: new Map([...this.#lanes].map(([name, lane]) => [name, { partitions: lane.supervisor.partitions, storage: lane.supervisor.storage }])),
      maxReadBytes: this.#options.jobs.maxReadBytes,
      fileRoots: this.#options.jobs.fileRoots,
    });
    // A job belongs to the unit it was accepted for (the one on the port, or the last one seen there).
    const unit = this.#lanes.get(prepared.spec.port)?.supervisor.lastIdentity?.mac;
    const spec = unit === undefined ? prepared.spec : { ...prepared.spec, unit };
    const job = new Job(randomUUID(), spec, { credentials: prepared.credentials, warnings: prepared.warnings });
    try {
      await this.#options.journal.append({ type: 'accepted', id: job.id, job: job.spec, ...(job.warnings.length > 0 ? { warnings: job.warnings } : {}) });
    } catch (error) {
      wipeCredentials(job.credentials);
      this.#logger.error({ error: errorBody(error) }, 'cannot write the journal; job refused');
      throw new RequestError(500, 'JOURNAL_FAILED', `the job could not be journaled, so it was not accepted: ${(error as Error).message}`);
    }
    this.#jobs.set(job.id, job);
    this.#logger.info(
      { job: job.id, port: spec.port, type: spec.type, partition: spec.partition, binBytes: spec.bin?.bytes, binSha256: spec.bin?.sha256 },
      'job accepted',
    );
    this.#enqueue(this.#lanes.get(spec.port)!, job);
    return job;
  }

  get(id: string): Job | undefined {
    return this.#jobs.get(id);
  }

  /** Newest first. */
  list(limit = 100): JobView[] {
    return [...this.#jobs.values()].reverse().slice(0, limit).map((job) => this.view(job));
  }

  view(job: Job): JobView {
    if (job.state !== 'queued') return job.view();
    const lane = this.#lanes.get(job.spec.port);
    const index = lane ? lane.waiting.indexOf(job) : -1;
    return job.view(index < 0 ? undefined : index + (lane?.current ? 1 : 0));
  }

  /** DELETE /jobs/:id: a queued job is cancelled; a running one is never torn off (409). */
  async cancel(id: string): Promise<Job> {
    const job = this.#jobs.get(id);
    if (!job) throw new RequestError(404, 'NOT_FOUND', `no job ${id}`);
    if (job.state === 'running') {
      throw new RequestError(409, 'JOB_RUNNING', `job ${id} is running; a running job is not stopped mid-write (it ends on its own or at jobs.timeoutMs)`);
    }
    if (job.isFinished) throw new RequestError(409, 'JOB_FINISHED', `job ${id} is already ${job.state}`);
    job.dequeue.abort(new AbortedError('cancelled on request (DELETE /jobs/:id) before it started'));
    await job.done;
    return job;
  }

  portStatus(name: string): Pick<PortStatus, 'currentJob' | 'queued'> {
    const lane = this.#lanes.get(name)!;
    const current = lane.current;
    return {
      ...(current && current.state === 'running'
        ? { currentJob: { id: current.id, type: current.spec.type, ...(current.spec.partition ? { partition: current.spec.partition } : {}), startedAt: current.startedAt!.toISOString() } }
        : {}),
      queued: lane.waiting.length,
    };
  }

  counts(): { queued: number; running: number; interrupted: number } {
    let queued = 0;
    let running = 0;
    let interrupted = 0;
    for (const job of this.#jobs.values()) {
      if (job.state === 'queued') queued++;
      else if (job.state === 'running') running++;
      else if (job.state === 'interrupted') interrupted++;
    }
    return { queued, running, interrupted };
  }

  /**
   * Stop accepting jobs, cancel queued ones, let running ones finish within `graceMs`, then tell them
   * to stop at their next safe point (they end `interrupted`, with their device state).
   */
  async shutdown(graceMs: number): Promise<void> {
    this.#accepting = false;
    await Promise.allSettled([...this.#submitting]);
    this.#shuttingDown = true;
    this.#stopChecks.abort(new AbortedError('the daemon is shutting down'));
    const leaving: Promise<void>[] = [];
    for (const lane of this.#lanes.values()) {
      for (const job of [...lane.waiting]) {
        job.dequeue.abort(new AbortedError('the daemon shut down before the job started'));
        leaving.push(job.done);
      }
    }
    const running = [...this.#lanes.values()].map((lane) => lane.current).filter((job): job is Job => job !== undefined);
    if (running.length > 0) {
      this.#logger.info({ jobs: running.map((job) => job.id), graceMs }, 'waiting for running jobs to finish');
      await settleWithin(Promise.all(running.map((job) => job.done)), graceMs, this.#hurry.signal);
      const still = running.filter((job) => !job.isFinished);
      if (still.length > 0) {
        this.#logger.warn({ jobs: still.map((job) => job.id) }, 'shutdown grace ran out; stopping running jobs at their next safe point');
        for (const job of still) job.stop.abort(new AbortedError('the daemon is shutting down (shutdownGraceMs ran out)'));
        await settleWithin(Promise.all(still.map((job) => job.done)), SAFE_POINT_WAIT_MS);
      }
    }
    await settleWithin(Promise.all(leaving), SAFE_POINT_WAIT_MS);
    for (const timer of this.#portWaitTimers.values()) clearTimeout(timer);
    this.#portWaitTimers.clear();
  }

  /** During shutdown: stop waiting for running jobs to finish on their own; stop them at their next safe point. */
  hurry(): void {
    this.#hurry.abort();
  }

  // ----------------------------------------------------------------------------------------------

  #enqueue(lane: Lane, job: Job): void {
    lane.waiting.push(job);
    this.#queuedChanged(lane);
    if (!lane.supervisor.isUp) this.#armPortWait(lane, job);
    lane.queue.add(() => this.#execute(lane, job), { signal: job.dequeue.signal }).catch((reason: unknown) => {
      // Taken out of the queue before it ran (or while it waited for its port).
      this.#leaveQueue(lane, job, reason);
    });
  }

  async #execute(lane: Lane, job: Job): Promise<void> {
    let module;
    try {
      module = await lane.supervisor.acquire(job.dequeue.signal);
    } catch (error) {
      this.#leaveQueue(lane, job, job.dequeue.signal.aborted ? job.dequeue.signal.reason : error);
      return;
    }
    // Cancelled between the port coming up and this continuation: p-queue has already moved on.
    if (job.dequeue.signal.aborted) {
      this.#leaveQueue(lane, job, job.dequeue.signal.reason);
      return;
    }
    // From here on the job is running; it is never taken out of the queue again.
    this.#removeWaiting(lane, job);
    lane.current = job;
    job.markRunning();
    const log = this.#logger.child({ job: job.id, port: lane.name });
    try {
      const unit = job.spec.unit;
      const found = lane.supervisor.identity?.mac;
      if (unit !== undefined && found !== unit) {
        const message = found === undefined
          ? `the job was accepted for unit ${unit}, but what answers on port ${lane.name} now cannot be identified; not run`
          : `the job was accepted for unit ${unit}, but unit ${found} is on port ${lane.name} now; not run`;
        log.warn({ unit, found }, 'job not run: another unit is on the port');
        await this.#complete(job, 'failed', { error: { code: 'WRONG_UNIT', message, details: { unit, found: found ?? null, deviceState: NEVER_STARTED } } });
        return;
      }
      try {
        await this.#options.journal.append({ type: 'started', id: job.id });
        job.started = true;
      } catch (error) {
        log.error({ error: errorBody(error) }, 'cannot write the journal; job not started');
        await this.#complete(job, 'failed', {
          error: { code: 'JOURNAL_FAILED', message: `the job could not be journaled, so it was not started: ${(error as Error).message}`, details: { deviceState: NEVER_STARTED } },
        });
        return;
      }
      const spec = job.spec;
      job.emit({ type: 'begin', operation: spec.type, port: spec.port, ...(spec.partition ? { partition: spec.partition } : {}) });
      job.emit({ type: 'log', level: 'info', message: `port ${lane.name} (${lane.supervisor.url}): ESP-AT ${lane.supervisor.firmware?.atVersion ?? 'unknown'}` });
      log.info({ type: spec.type, partition: spec.partition }, 'job started');

      const timeoutMs = this.#options.jobs.timeoutMs;
      const timer = setTimeout(() => {
        job.stop.abort(new TimeoutError(`the job ran longer than ${timeoutMs / 1000} s (jobs.timeoutMs)`, { details: { timeoutMs } }));
      }, timeoutMs);
      let written = 0;
      const emit = (event: OperationEvent): void => {
        if (event.type === 'progress' && event.phase === 'write' && event.done > written) {
          this.#options.metrics.flashWritten(event.done - written);
          written = event.done;
        }
        job.emit(event);
      };
      try {
        const result = await performJob(module, spec, job.credentials, { signal: job.stop.signal, emit, maxReadBytes: this.#options.jobs.maxReadBytes });
        await this.#complete(job, 'succeeded', { result });
      } catch (error) {
        const body = errorBody(error);
        // Stopped through job.stop (jobs.timeoutMs, shutdown): the flash layer says "cancelled while...";
        // report the reason's code (TIMEOUT) rather than a bare ABORTED.
        const reason: unknown = job.stop.signal.reason;
        if (job.stop.signal.aborted && body.code === 'ABORTED' && reason instanceof AtPkiError) body.code = reason.code;
        const deviceState = error instanceof AtPkiError ? error.details.deviceState : undefined;
        if (typeof deviceState === 'string') body.message = `${body.message} [module ${deviceState}]`;
        const state: JobState = this.#shuttingDown && job.stop.signal.aborted ? 'interrupted' : 'failed';
        await this.#complete(job, state, { error: body });
        // After a timeout the module may have stopped answering: find out before the next job.
        if (isTimeout(error) || reason instanceof TimeoutError) await lane.supervisor.checkAlive();
      } finally {
        clearTimeout(timer);
      }
    } finally {
      lane.current = undefined;
      this.#queuedChanged(lane);
    }
  }

  /** The job left its queue without running: cancelled, its port stayed down too long, or shutdown. */
  #leaveQueue(lane: Lane, job: Job, reason: unknown): void {
    if (job.state !== 'queued') return;
    this.#removeWaiting(lane, job);
    const message = reason instanceof Error ? reason.message : 'cancelled';
    if (reason instanceof PortError) {
      void this.#complete(job, 'failed', { error: { code: reason.code, message, details: { ...reason.details, deviceState: NEVER_STARTED } } });
    } else {
      void this.#complete(job, 'cancelled', { error: { code: 'CANCELLED', message, details: { deviceState: NEVER_STARTED } } });
    }
  }

  #removeWaiting(lane: Lane, job: Job): void {
    const index = lane.waiting.indexOf(job);
    if (index >= 0) lane.waiting.splice(index, 1);
    this.#disarmPortWait(job);
    this.#queuedChanged(lane);
  }

  /** Journal the outcome, then publish it (`end` event). Once per job. */
  async #complete(job: Job, state: Exclude<JobState, 'queued' | 'running'>, outcome: { result?: Record<string, unknown>; error?: ApiErrorBody }): Promise<void> {
    if (job.isFinished || this.#completing.has(job)) return;
    this.#completing.add(job);
    try {
      await this.#options.journal.append({
        type: 'finished',
        id: job.id,
        state,
        ...(outcome.result ? { result: publicResult(outcome.result) } : {}),
        ...(outcome.error ? { error: outcome.error } : {}),
      });
    } catch (error) {
      this.#logger.error({ job: job.id, error: errorBody(error) }, 'cannot write the outcome to the journal');
    }
    job.finish(state, outcome);
    this.#completing.delete(job);
    this.#options.metrics.jobFinished(job.spec.type, state);
    const fields = { job: job.id, port: job.spec.port, type: job.spec.type, state, ...(outcome.error ? { code: outcome.error.code, error: outcome.error.message } : {}) };
    if (state === 'succeeded' || state === 'cancelled') this.#logger.info(fields, 'job finished');
    else this.#logger.warn(fields, 'job finished');
    this.#finished.push(job);
    while (this.#finished.length > this.#options.jobs.history) {
      const old = this.#finished.shift()!;
      if (this.#jobs.get(old.id) === old && old.isFinished) this.#jobs.delete(old.id);
    }
  }

  #onUp(lane: Lane): void {
    for (const job of lane.waiting) this.#disarmPortWait(job);
    this.#scheduleChecks(lane);
  }

  #onDown(lane: Lane): void {
    for (const job of lane.waiting) this.#armPortWait(lane, job);
  }

  #armPortWait(lane: Lane, job: Job): void {
    if (this.#portWaitTimers.has(job) || job.state !== 'queued') return;
    const waitMs = this.#options.jobs.portWaitMs;
    const timer = setTimeout(() => {
      this.#portWaitTimers.delete(job);
      if (job.state !== 'queued' || lane.supervisor.isUp) return;
      const why = lane.supervisor.lastError?.message;
      job.dequeue.abort(
        new PortError(`port ${lane.name} was unavailable for ${waitMs / 1000} s (jobs.portWaitMs); the job never started${why ? ` (last error: ${why})` : ''}`, {
          details: { port: lane.name },
        }),
      );
    }, waitMs);
    timer.unref();
    this.#portWaitTimers.set(job, timer);
  }

  #disarmPortWait(job: Job): void {
    const timer = this.#portWaitTimers.get(job);
    if (timer) clearTimeout(timer);
    this.#portWaitTimers.delete(job);
  }

  #queuedChanged(lane: Lane): void {
    this.#options.metrics.queued(lane.name, lane.waiting.length);
  }

  /** Check the partitions of interrupted updates on this port, before its next job. */
  #scheduleChecks(lane: Lane): void {
    if (lane.checks.size === 0 || this.#stopChecks.signal.aborted) return;
    if (lane.checking) {
      lane.recheck = true;
      return;
    }
    lane.checking = true;
    const signal = this.#stopChecks.signal;
    void lane.queue
      .add(
        async () => {
          const module = await lane.supervisor.acquire(signal);
          for (const job of [...lane.checks]) {
            const recovery = await checkInterruptedUpdate(module, job.spec, signal);
            job.recovery = recovery;
            if (job.error) job.error = { ...job.error, details: { ...job.error.details, deviceState: deviceStateAfterCheck(recovery) } };
            await this.#options.journal.append({ type: 'checked', id: job.id, recovery });
            lane.checks.delete(job);
            this.#logger.info({ job: job.id, port: lane.name, partition: job.spec.partition, partitionState: recovery.partitionState }, 'checked an interrupted update');
          }
        },
        { priority: 1 },
      )
      .catch((error: unknown) => {
        if (!signal.aborted) this.#logger.warn({ port: lane.name, error: errorBody(error) }, 'could not check interrupted jobs; trying again when the port is up');
      })
      .finally(() => {
        lane.checking = false;
        // The port came back while the check was failing: try once more now.
        if (lane.recheck) {
          lane.recheck = false;
          this.#scheduleChecks(lane);
        }
      });
  }
}

function shuttingDown(): RequestError {
  return new RequestError(503, 'SHUTTING_DOWN', 'the daemon is shutting down and accepts no new jobs');
}

async function settleWithin(work: Promise<unknown>, ms: number, cut?: AbortSignal): Promise<void> {
  const stop = new AbortController();
  const signal = cut ? AbortSignal.any([stop.signal, cut]) : stop.signal;
  await Promise.race([work.catch(() => {}), delay(ms, signal).catch(() => {})]);
  stop.abort();
}
