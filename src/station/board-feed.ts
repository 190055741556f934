/**
 * Feeds the BayBoard from what the plain daemon knows: each port's connection state and the
 * update/verify jobs run on it. Station mode knows more (the unit's identity, its set) and drives
 * the board itself; it detaches this feed.
 *
 * - port up → `waiting`, unless the bay is busy or shows a unit's result (kept until the unit leaves);
 * - port connecting/down/stopped → `down` with the reason (a unit that left takes its result along);
 * - an update/verify job starts → `provisioning`, its progress events give phase and progress;
 * - its end → `passed`, or `failed` with the one-line error (or, for a verify job that ran to the
 *   end, why the module does not hold the bin), counted in the totals. When the port
 *   is already down by then (the unit was pulled mid-job), the bay stays `down`; the failure is
 *   still counted.
 *
 * `read` and `partitions` jobs are not units being provisioned and leave the board alone.
 */
import type { EndEvent, JobEvent, PortStateName } from './api-types.js';
import type { BayBoard, BayStatus } from './bay-board.js';
import type { Job } from './job.js';
import type { JobService } from './job-service.js';
import type { PortSupervisor } from './port-supervisor.js';

const UNIT_JOBS = new Set(['update', 'verify']);

export class BoardFeed {
  readonly #board: BayBoard;
  readonly #detachers: (() => void)[] = [];
  readonly #jobListeners = new Map<Job, () => void>();

  constructor(board: BayBoard, supervisors: readonly PortSupervisor[], jobs: JobService) {
    this.#board = board;
    for (const supervisor of supervisors) {
      if (!board.bay(supervisor.name)) continue;
      const onState = (state: PortStateName): void => this.#portState(supervisor, state);
      supervisor.on('state', onState);
      this.#detachers.push(() => supervisor.off('state', onState));
      onState(supervisor.state);
    }
    const onStarted = (job: Job): void => {
      if (UNIT_JOBS.has(job.spec.type) && board.bay(job.spec.port)) this.#follow(job, supervisors.find((s) => s.name === job.spec.port));
    };
    jobs.on('started', onStarted);
    this.#detachers.push(() => jobs.off('started', onStarted));
  }

  /** Stop feeding the board (station mode drives it). The board keeps its last state. */
  detach(): void {
    for (const detach of this.#detachers.splice(0)) detach();
    for (const unsubscribe of this.#jobListeners.values()) unsubscribe();
    this.#jobListeners.clear();
  }

  #portState(supervisor: PortSupervisor, state: PortStateName): void {
    const bay = supervisor.name;
    if (state === 'up') {
      const current = this.#board.bay(bay)!.state;
      if (!isBusy(current) && current !== 'passed' && current !== 'failed') this.#board.set(bay, { state: 'waiting', device: undefined });
      return;
    }
    const reason = state === 'connecting' ? 'connecting' : state === 'stopped' ? 'the daemon stopped watching this port' : (supervisor.lastError?.message ?? 'port down');
    this.#board.set(bay, { state: 'down', reason, device: undefined });
  }

  #follow(job: Job, supervisor: PortSupervisor | undefined): void {
    const bay = job.spec.port;
    this.#board.set(bay, { state: 'provisioning', device: undefined });
    const unsubscribe = job.subscribe((event: JobEvent) => {
      if (event.type === 'progress') {
        this.#board.set(bay, { state: 'provisioning', phase: event.phase, progress: { done: event.done, total: event.total } });
      } else if (event.type === 'end') {
        this.#jobListeners.delete(job);
        const reason = failure(event);
        this.#board.record({ bay, ok: reason === undefined, ...(reason ? { reason } : {}) });
        // Pulled mid-job: the port's `down` came first and says more about the bay now.
        if (supervisor && !supervisor.isUp) return;
        this.#board.set(bay, reason === undefined ? { state: 'passed' } : { state: 'failed', reason });
      }
    });
    this.#jobListeners.set(job, unsubscribe);
  }
}

/** Why the unit did not pass, or undefined when it did. A verify job succeeds with `match: false` when the bytes differ. */
function failure(end: EndEvent): string | undefined {
  if (!end.ok) return end.error.message;
  const { match, reason, firstDifference, partition } = end.result;
  if (match !== false) return undefined;
  if (typeof reason === 'string') return `verify: ${reason}`;
  const where = typeof firstDifference === 'number' ? ` (first difference at byte ${firstDifference})` : '';
  return `verify: ${typeof partition === 'string' ? partition : 'the partition'} does not hold the bin${where}`;
}

function isBusy(state: BayStatus['state']): boolean {
  return state === 'identifying' || state === 'provisioning';
}
