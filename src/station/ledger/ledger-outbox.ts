/**
 * A station that loses its PostgreSQL ledger mid-unit must not lose what it did. OutboxLedger wraps
 * the PostgreSQL ledger: when the database cannot be reached, a state change of an assignment this
 * process already holds (writing, verified, failed, suspect, retired) and caller events are written
 * to a local journal file (JSON lines, fsync'd, no key material: states, reasons, times) and the
 * call succeeds locally. The journal is replayed, in order, before anything else reaches the
 * database again — by this process or by the next one on this host (the CLI runs a process per
 * unit). Each entry carries an id, so a replay whose reply was lost is not applied twice.
 *
 * No claim is made while the database is away or while local outcomes are not yet written back:
 * claim() refuses with LedgerUnavailableError (no lease of pre-reserved sets).
 */
import { randomUUID } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { LedgerStateError, LedgerUnavailableError } from '../../errors.js';
import {
  TRANSITIONS,
  type Assignment,
  type AssignmentState,
  type BatchSummary,
  type ClaimResult,
  type DeviceRecord,
  type ExportRecord,
  type Ledger,
  type LedgerContext,
  type LedgerEvent,
  type NewBatch,
  type NewEvent,
  type NewSet,
} from './ledger.js';
import type { PostgresLedger } from './postgres-ledger.js';

type OutboxEntry =
  | { op: 'transition'; opId: string; time: string; id: number; to: AssignmentState; context: LedgerContext; reason?: string; detail: Record<string, unknown> }
  | { op: 'retire'; opId: string; time: string; id: number; context: LedgerContext; reason: string }
  | { op: 'event'; opId: string; time: string; event: NewEvent; context: LedgerContext };

/** How long to wait for another process holding the journal lock before giving up, ms. */
const LOCK_WAIT_MS = 15_000;

export class OutboxLedger implements Ledger {
  readonly backend: string;
  readonly location: string;
  readonly #inner: PostgresLedger;
  readonly #path: string;
  readonly #now: () => Date;
  /** Assignments this process claimed or moved: what a local state change starts from. */
  readonly #known = new Map<number, Assignment>();

  constructor(inner: PostgresLedger, journalPath: string, now: () => Date = () => new Date()) {
    this.#inner = inner;
    this.#path = journalPath;
    this.#now = now;
    this.backend = inner.backend;
    this.location = inner.location;
  }

  /** The local journal (exists only while outcomes wait to be written to the database). */
  get journalPath(): string {
    return this.#path;
  }

  /** Entries waiting in the local journal. */
  pending(): number {
    return readEntries(this.#path).length;
  }

  /**
   * Write the local journal to the database, in order. Throws LedgerUnavailableError (the rest
   * stays) when the database is still away. An entry the database no longer accepts (another
   * station moved the assignment meanwhile) is recorded as an `outbox-conflict` event and dropped.
   */
  async flush(): Promise<number> {
    if (!existsSync(this.#path)) return 0;
    return withLock(this.#path, async () => {
      const entries = readEntries(this.#path);
      let done = 0;
      try {
        for (const entry of entries) {
          await this.#replay(entry);
          done++;
        }
      } finally {
        const rest = entries.slice(done);
        if (rest.length === 0) rmSync(this.#path, { force: true });
        else if (done > 0) rewrite(this.#path, rest);
      }
      return done;
    });
  }

  async claim(request: { batch: string; device: string }, context: LedgerContext): Promise<ClaimResult> {
    await this.#flushBeforeClaim();
    return this.#remember(await this.#inner.claim(request, context));
  }

  async claimIssued(request: { batch: string; device: string; set: NewSet }, context: LedgerContext): Promise<ClaimResult> {
    await this.#flushBeforeClaim();
    return this.#remember(await this.#inner.claimIssued(request, context));
  }

  async transition(id: number, to: AssignmentState, context: LedgerContext, reason?: string, detail: Record<string, unknown> = {}): Promise<Assignment> {
    const entry: OutboxEntry = { op: 'transition', opId: randomUUID(), time: this.#now().toISOString(), id, to, context, ...(reason !== undefined ? { reason } : {}), detail };
    return this.#change(entry, async () => this.#inner.transitionStamped(id, to, context, reason, detail, { time: new Date(entry.time), opId: entry.opId }), (known) => {
      if (!TRANSITIONS[known.state].includes(to)) {
        throw new LedgerStateError(`assignment ${id} (${known.set.name} → ${known.device}) is ${known.state}; it cannot become ${to}`, { details: { assignmentId: id, state: known.state, to } });
      }
      const keepsReason = to === 'failed' || to === 'suspect';
      return { ...known, state: to, reason: keepsReason ? reason : undefined, station: context.station, port: context.port ?? known.port, updatedAt: new Date(entry.time) };
    });
  }

  async retire(id: number, context: LedgerContext, reason: string): Promise<Assignment> {
    const entry: OutboxEntry = { op: 'retire', opId: randomUUID(), time: this.#now().toISOString(), id, context, reason };
    return this.#change(entry, async () => this.#inner.retireStamped(id, context, reason, { time: new Date(entry.time), opId: entry.opId }), (known) => {
      if (known.state === 'verified' || known.state === 'reserved' || !known.current) {
        throw new LedgerStateError(`assignment ${id} (${known.set.name} → ${known.device}) is ${known.current ? known.state : 'retired'}; it cannot be retired`, {
          details: { assignmentId: id, state: known.state },
        });
      }
      return { ...known, current: false, reason, updatedAt: new Date(entry.time) };
    });
  }

  async appendEvent(event: NewEvent, context: LedgerContext): Promise<void> {
    const entry: OutboxEntry = { op: 'event', opId: randomUUID(), time: this.#now().toISOString(), event, context };
    if (await this.#tryFlush()) {
      try {
        await this.#inner.appendEventStamped(event, context, { time: new Date(entry.time), opId: entry.opId });
        return;
      } catch (error) {
        if (!(error instanceof LedgerUnavailableError)) throw error;
      }
    }
    await append(this.#path, entry);
  }

  // Everything else needs the database; pending outcomes go first so that what is read is current.
  async importBatch(batch: NewBatch, sets: readonly NewSet[], context: LedgerContext): Promise<BatchSummary> {
    await this.#tryFlush();
    return this.#inner.importBatch(batch, sets, context);
  }
  async ensureIssuedBatch(batch: NewBatch, context: LedgerContext): Promise<BatchSummary> {
    await this.#tryFlush();
    return this.#inner.ensureIssuedBatch(batch, context);
  }
  async batch(name: string): Promise<BatchSummary | undefined> {
    await this.#tryFlush();
    return this.#inner.batch(name);
  }
  async batches(): Promise<BatchSummary[]> {
    await this.#tryFlush();
    return this.#inner.batches();
  }
  async recordDevice(device: DeviceRecord, context: LedgerContext): Promise<void> {
    await this.#tryFlush();
    return this.#inner.recordDevice(device, context);
  }
  async device(mac: string): Promise<DeviceRecord | undefined> {
    await this.#tryFlush();
    return this.#inner.device(mac);
  }
  async release(id: number, context: LedgerContext, reason: string): Promise<void> {
    // Not kept locally: a reservation that cannot be released stays reserved (in flight) and is reconciled later.
    await this.#tryFlush();
    await this.#inner.release(id, context, reason);
    this.#known.delete(id);
  }
  async assignment(id: number): Promise<Assignment | undefined> {
    await this.#tryFlush();
    return this.#inner.assignment(id);
  }
  async currentAssignment(batch: string, device: string): Promise<Assignment | undefined> {
    await this.#tryFlush();
    return this.#inner.currentAssignment(batch, device);
  }
  async assignmentsOf(device: string): Promise<Assignment[]> {
    await this.#tryFlush();
    return this.#inner.assignmentsOf(device);
  }
  async inFlight(filter?: { station?: string }): Promise<Assignment[]> {
    await this.#tryFlush();
    return this.#inner.inFlight(filter);
  }
  async events(filter?: { device?: string; assignmentId?: number }): Promise<LedgerEvent[]> {
    await this.#tryFlush();
    return this.#inner.events(filter);
  }
  async exportRecords(): Promise<ExportRecord[]> {
    await this.#tryFlush();
    return this.#inner.exportRecords();
  }

  async close(): Promise<void> {
    // Last chance to write back before the process ends; what stays is replayed by the next one.
    await this.#tryFlush();
    await this.#inner.close();
  }

  async #change(entry: OutboxEntry, online: () => Promise<Assignment>, offline: (known: Assignment) => Assignment): Promise<Assignment> {
    const id = entry.op === 'event' ? -1 : entry.id;
    if (await this.#tryFlush()) {
      try {
        const result = await online();
        this.#known.set(id, result);
        return result;
      } catch (error) {
        if (!(error instanceof LedgerUnavailableError)) throw error;
        return this.#keepLocally(entry, error, offline);
      }
    }
    return this.#keepLocally(entry, new LedgerUnavailableError(`the ledger database ${this.location} cannot be reached`), offline);
  }

  async #keepLocally(entry: OutboxEntry, cause: LedgerUnavailableError, offline: (known: Assignment) => Assignment): Promise<Assignment> {
    const id = entry.op === 'event' ? -1 : entry.id;
    const known = this.#known.get(id);
    // Only what this process holds can be changed without the database: anything else is not ours to guess.
    if (known === undefined) throw cause;
    const updated = offline(known);
    await append(this.#path, entry);
    this.#known.set(id, updated);
    return updated;
  }

  /** True when nothing waits locally (any pending entries were written back). */
  async #tryFlush(): Promise<boolean> {
    if (!existsSync(this.#path)) return true;
    try {
      await this.flush();
      return true;
    } catch (error) {
      if (error instanceof LedgerUnavailableError) return false;
      throw error;
    }
  }

  async #flushBeforeClaim(): Promise<void> {
    try {
      await this.flush();
    } catch (error) {
      if (error instanceof LedgerUnavailableError) {
        throw new LedgerUnavailableError(
          `no claim while the ledger database ${this.location} is away: ${this.pending()} outcome(s) kept in ${this.#path} wait to be written back`,
          { cause: error, details: { ledger: this.location, journal: this.#path, deviceState: 'unchanged' } },
        );
      }
      throw error;
    }
  }

  #remember(result: ClaimResult): ClaimResult {
    if (result.kind !== 'exhausted') this.#known.set(result.assignment.id, result.assignment);
    return result;
  }

  async #replay(entry: OutboxEntry): Promise<void> {
    const stamp = { time: new Date(entry.time), opId: entry.opId };
    try {
      if (entry.op === 'transition') await this.#inner.transitionStamped(entry.id, entry.to, entry.context, entry.reason, { ...entry.detail, keptLocally: true }, stamp);
      else if (entry.op === 'retire') await this.#inner.retireStamped(entry.id, entry.context, entry.reason, stamp);
      else await this.#inner.appendEventStamped(entry.event, entry.context, stamp);
    } catch (error) {
      if (!(error instanceof LedgerStateError)) throw error;
      await this.#inner.appendEventStamped(
        { kind: 'outbox-conflict', ...(entry.op === 'event' ? {} : { assignmentId: entry.id }), detail: { entry: { ...entry, context: undefined }, message: error.message } },
        entry.context,
        stamp,
      );
    }
  }
}

function readEntries(path: string): OutboxEntry[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  // A line cut short by a crash while appending was never acknowledged to anyone: skip it.
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as OutboxEntry];
      } catch {
        return [];
      }
    });
}

async function append(path: string, entry: OutboxEntry): Promise<void> {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  await withLock(path, async () => {
    const fd = openSync(path, 'a', 0o600);
    try {
      writeSync(fd, `${JSON.stringify(entry)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  });
}

function rewrite(path: string, entries: readonly OutboxEntry[]): void {
  const temp = `${path}.tmp-${process.pid}`;
  writeFileSync(temp, entries.map((entry) => `${JSON.stringify(entry)}\n`).join(''), { mode: 0o600 });
  const fd = openSync(temp, 'r');
  fsyncSync(fd);
  closeSync(fd);
  renameSync(temp, path);
}

/** A lock directory next to the journal (several processes of one host share it); a dead holder's lock is taken over. */
function tryLock(path: string): boolean {
  const lock = `${path}.lock`;
  try {
    mkdirSync(lock);
    writeFileSync(`${lock}/pid`, String(process.pid));
    return true;
  } catch {
    try {
      const holder = Number(readFileSync(`${lock}/pid`, 'utf8'));
      if (holder > 0 && !alive(holder)) rmSync(lock, { recursive: true, force: true });
      else if (Date.now() - statSync(lock).mtimeMs > 10 * LOCK_WAIT_MS) rmSync(lock, { recursive: true, force: true });
    } catch {
      // released meanwhile
    }
    return false;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function unlock(path: string): void {
  rmSync(`${path}.lock`, { recursive: true, force: true });
}

/** Journal operations of this process, one at a time per journal (bays of one daemon share it). */
const queues = new Map<string, Promise<unknown>>();

/** fn with the journal to itself: in this process (a queue) and across processes (the lock directory). */
async function withLock<T>(path: string, fn: () => Promise<T>): Promise<T> {
  const previous = queues.get(path) ?? Promise.resolve();
  const run = previous.catch(() => undefined).then(async () => {
    const deadline = Date.now() + LOCK_WAIT_MS;
    while (!tryLock(path)) {
      if (Date.now() > deadline) throw new LedgerUnavailableError(`the local ledger journal ${path} stays locked by another process`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    try {
      return await fn();
    } finally {
      unlock(path);
    }
  });
  queues.set(path, run);
  try {
    return await run;
  } finally {
    if (queues.get(path) === run) queues.delete(path);
  }
}
