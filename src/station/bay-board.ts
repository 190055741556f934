/**
 * What the operator sees of each bay (a configured port) and of the station as a whole, kept in
 * memory and pushed to listeners on every change. Producers: the station wiring (port up/down, job
 * progress) and station mode (identify → provision → passed/failed → unit removed). Consumers: the
 * operator page's server-sent event stream and `GET /board`.
 *
 * One concern: state and totals. It knows nothing of ports, jobs or HTTP.
 */
import { EventEmitter } from 'node:events';

export type BayState = 'waiting' | 'identifying' | 'provisioning' | 'passed' | 'failed' | 'down';

export interface BayStatus {
  /** The port's name from the config. */
  bay: string;
  state: BayState;
  /** While provisioning: the operation's phase (`compare`, `erase`, `write`, `verify`, …). */
  phase?: string;
  /** While provisioning: bytes (or steps) done of total in the current phase. */
  progress?: { done: number; total: number };
  /** The unit's identity, `aa:bb:cc:dd:ee:ff`, once known. */
  device?: string;
  /** The credential set's name (batch mode) … */
  set?: string;
  /** … or the issued certificate's subject (issuance mode). */
  subject?: string;
  /** One line, when failed or down. */
  reason?: string;
  /** ISO time of the last state change. */
  since: string;
}

export interface UnitOutcome {
  bay: string;
  device?: string;
  ok: boolean;
  reason?: string;
  /** When the unit's outcome was decided. @default now */
  time?: Date;
}

export interface StationTotals {
  /** Units passed / failed since local midnight. */
  passedToday: number;
  failedToday: number;
  /** passed / (passed + failed) today; null before the first unit. */
  yield: number | null;
  /** Units (passed or failed) in the last 60 minutes. */
  unitsLastHour: number;
  /** Sets still available in the batch (station mode with a batch); null when not known. */
  remainingSets: number | null;
  /** Newest first, at most 10. */
  lastFailures: { bay: string; device?: string; reason: string; time: string }[];
}

export interface BoardSnapshot {
  bays: BayStatus[];
  totals: StationTotals;
}

interface BayBoardEvents {
  change: [snapshot: BoardSnapshot];
}

const MAX_FAILURES = 10;

export class BayBoard extends EventEmitter<BayBoardEvents> {
  readonly #bays = new Map<string, BayStatus>();
  readonly #outcomes: { time: Date; ok: boolean }[] = [];
  readonly #failures: StationTotals['lastFailures'] = [];
  #remainingSets: number | null = null;
  readonly #now: () => Date;

  constructor(bayNames: readonly string[], options: { now?: () => Date } = {}) {
    super();
    // One listener per open operator page (the API bounds how many are open).
    this.setMaxListeners(0);
    this.#now = options.now ?? (() => new Date());
    const since = this.#now().toISOString();
    for (const bay of bayNames) this.#bays.set(bay, { bay, state: 'down', since });
  }

  /**
   * Replace a bay's state. A change of `state` resets `since`; fields not given are dropped
   * (a new state says everything about the bay), except that `device`, `set` and `subject` carry
   * over while the state goes on with the same unit (pass `device: undefined` explicitly to clear).
   */
  set(bay: string, next: Omit<BayStatus, 'bay' | 'since'>): void {
    const previous = this.#bays.get(bay);
    if (!previous) throw new Error(`unknown bay ${bay}`);
    const sameUnit = !('device' in next) || next.device === previous.device;
    const status: BayStatus = {
      ...(sameUnit ? pick(previous, ['device', 'set', 'subject']) : {}),
      ...stripUndefined(next),
      bay,
      since: next.state === previous.state ? previous.since : this.#now().toISOString(),
    };
    this.#bays.set(bay, status);
    this.#changed();
  }

  /** Count a unit's outcome in the totals (the bay's own state is set separately). */
  record(outcome: UnitOutcome): void {
    const time = outcome.time ?? this.#now();
    this.#outcomes.push({ time, ok: outcome.ok });
    if (!outcome.ok) {
      this.#failures.unshift({
        bay: outcome.bay,
        ...(outcome.device ? { device: outcome.device } : {}),
        reason: outcome.reason ?? 'failed',
        time: time.toISOString(),
      });
      this.#failures.length = Math.min(this.#failures.length, MAX_FAILURES);
    }
    this.#changed();
  }

  setRemainingSets(count: number | null): void {
    this.#remainingSets = count;
    this.#changed();
  }

  bay(name: string): BayStatus | undefined {
    return this.#bays.get(name);
  }

  snapshot(): BoardSnapshot {
    return { bays: [...this.#bays.values()], totals: this.totals() };
  }

  totals(): StationTotals {
    const now = this.#now();
    const midnight = new Date(now);
    midnight.setHours(0, 0, 0, 0);
    const hourAgo = now.getTime() - 3_600_000;
    // Older than a day is never needed again.
    while (this.#outcomes.length > 0 && this.#outcomes[0]!.time < midnight && this.#outcomes[0]!.time.getTime() < hourAgo) this.#outcomes.shift();
    const today = this.#outcomes.filter((o) => o.time >= midnight);
    const passedToday = today.filter((o) => o.ok).length;
    const failedToday = today.length - passedToday;
    return {
      passedToday,
      failedToday,
      yield: today.length === 0 ? null : passedToday / today.length,
      unitsLastHour: this.#outcomes.filter((o) => o.time.getTime() >= hourAgo).length,
      remainingSets: this.#remainingSets,
      lastFailures: [...this.#failures],
    };
  }

  #changed(): void {
    this.emit('change', this.snapshot());
  }
}

function pick<T extends object, K extends keyof T>(value: T, keys: readonly K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const key of keys) if (value[key] !== undefined) out[key] = value[key];
  return out;
}

function stripUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
