/**
 * The ledger in an SQLite file (better-sqlite3): the embedded default. WAL, synchronous=FULL (a
 * state change that returned is on disk, kill -9 or power loss), BEGIN IMMEDIATE around every state
 * change (one writer at a time; other processes wait up to busy_timeout). All SQL of this backend is
 * here; the schema is versioned and migrated at open.
 */
import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';
import { InputError, LedgerStateError } from '../../errors.js';
import {
  exportOutcome,
  TRANSITIONS,
  type Assignment,
  type AssignmentState,
  type BatchKind,
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
  type SetRecord,
} from './ledger.js';
import { batchNameTaken, certificateAlreadyInLedger, checkIssuedBatch, sameCertificateInImport } from './ledger-rules.js';
import { actorOf } from './ledger-context.js';

type Database = BetterSqlite3.Database;

/** Each entry brings the schema from version i to i+1. Never edit one that shipped: append. */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE batches (
     id INTEGER PRIMARY KEY,
     name TEXT NOT NULL UNIQUE,
     kind TEXT NOT NULL CHECK (kind IN ('sets', 'issued')),
     source TEXT NOT NULL,
     station TEXT NOT NULL,
     created_at TEXT NOT NULL
   );
   CREATE TABLE sets (
     id INTEGER PRIMARY KEY,
     batch_id INTEGER NOT NULL REFERENCES batches(id),
     name TEXT NOT NULL,
     certificate_pem TEXT NOT NULL,
     certificate_der BLOB NOT NULL,
     serial_hex TEXT NOT NULL,
     sha256_hex TEXT NOT NULL UNIQUE,
     subject TEXT NOT NULL,
     not_after TEXT NOT NULL,
     files TEXT NOT NULL,
     UNIQUE (batch_id, name)
   );
   CREATE TABLE devices (
     mac TEXT PRIMARY KEY,
     chip TEXT NOT NULL,
     firmware TEXT NOT NULL,
     storage_mode TEXT,
     identity_source TEXT NOT NULL CHECK (identity_source IN ('efuse', 'station-mac')),
     station_mac TEXT,
     warnings TEXT NOT NULL,
     first_seen TEXT NOT NULL,
     last_seen TEXT NOT NULL
   );
   CREATE TABLE assignments (
     id INTEGER PRIMARY KEY,
     set_id INTEGER NOT NULL UNIQUE REFERENCES sets(id),
     batch_id INTEGER NOT NULL REFERENCES batches(id),
     device TEXT NOT NULL REFERENCES devices(mac),
     state TEXT NOT NULL CHECK (state IN ('reserved', 'writing', 'verified', 'failed', 'suspect')),
     current INTEGER NOT NULL DEFAULT 1 CHECK (current IN (0, 1)),
     station TEXT NOT NULL,
     port TEXT,
     reason TEXT,
     created_at TEXT NOT NULL,
     updated_at TEXT NOT NULL
   );
   CREATE UNIQUE INDEX assignments_one_current ON assignments (batch_id, device) WHERE current = 1;
   CREATE INDEX assignments_device ON assignments (device);
   CREATE INDEX assignments_state ON assignments (state);
   CREATE TABLE events (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     time TEXT NOT NULL,
     station TEXT NOT NULL,
     port TEXT,
     actor TEXT NOT NULL,
     kind TEXT NOT NULL,
     device TEXT,
     batch TEXT,
     set_name TEXT,
     assignment_id INTEGER,
     detail TEXT NOT NULL
   );
   CREATE INDEX events_device ON events (device);
   CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
   CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;`,
];

export const SQLITE_SCHEMA_VERSION = MIGRATIONS.length;

export interface SqliteLedgerOptions {
  /** Clock, for tests. @default () => new Date() */
  now?: () => Date;
  /** How long to wait for another process's write transaction, ms. @default 10000 */
  busyTimeoutMs?: number;
}

interface AssignmentRow {
  id: number;
  set_id: number;
  batch_name: string;
  device: string;
  state: AssignmentState;
  current: number;
  station: string;
  port: string | null;
  reason: string | null;
  created_at: string;
  updated_at: string;
  set_name: string;
  certificate_pem: string;
  certificate_der: Buffer;
  serial_hex: string;
  sha256_hex: string;
  subject: string;
  not_after: string;
  files: string;
}

const ASSIGNMENT_SELECT = `SELECT a.id, a.set_id, b.name AS batch_name, a.device, a.state, a.current, a.station, a.port, a.reason,
  a.created_at, a.updated_at, s.name AS set_name, s.certificate_pem, s.certificate_der, s.serial_hex, s.sha256_hex,
  s.subject, s.not_after, s.files
  FROM assignments a JOIN sets s ON s.id = a.set_id JOIN batches b ON b.id = a.batch_id`;

export class SqliteLedger implements Ledger {
  readonly backend = 'sqlite';
  readonly #db: Database;
  readonly #now: () => Date;

  private constructor(
    readonly location: string,
    db: Database,
    now: () => Date,
  ) {
    this.#db = db;
    this.#now = now;
  }

  static async open(path: string, options: SqliteLedgerOptions = {}): Promise<SqliteLedger> {
    // better-sqlite3 is CommonJS with a native addon: loaded only when a ledger is opened.
    const BetterSqlite = createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3;
    let db: Database;
    try {
      db = new BetterSqlite(path);
    } catch (error) {
      throw new InputError(`cannot open the ledger ${path}: ${(error as Error).message}`, { details: { ledger: path } });
    }
    try {
      db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 10_000}`);
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.pragma('foreign_keys = ON');
      migrate(db, path);
    } catch (error) {
      db.close();
      if (error instanceof InputError) throw error;
      throw new InputError(`cannot use ${path} as a ledger: ${(error as Error).message}`, { details: { ledger: path } });
    }
    return new SqliteLedger(path, db, options.now ?? (() => new Date()));
  }

  async importBatch(batch: NewBatch, sets: readonly NewSet[], context: LedgerContext): Promise<BatchSummary> {
    if (batch.kind !== 'sets') throw new InputError(`importBatch takes batches of kind 'sets', not '${batch.kind}'`);
    this.#write(() => {
      if (this.#batchRow(batch.name)) {
        throw batchNameTaken(batch.name);
      }
      const seen = new Map<string, string>();
      for (const set of sets) {
        const other = seen.get(set.sha256Hex);
        if (other !== undefined) {
          throw sameCertificateInImport(other, set.name, set.sha256Hex);
        }
        seen.set(set.sha256Hex, set.name);
        const existing = this.#db
          .prepare(`SELECT s.name, b.name AS batch FROM sets s JOIN batches b ON b.id = s.batch_id WHERE s.sha256_hex = ?`)
          .get(set.sha256Hex) as { name: string; batch: string } | undefined;
        if (existing) {
          throw certificateAlreadyInLedger(set.name, set.sha256Hex, existing);
        }
      }
      const batchId = this.#insertBatch(batch, context);
      for (const set of sets) this.#insertSet(batchId, set);
      this.#event({ kind: 'batch-imported', batch: batch.name, detail: { sets: sets.length, source: batch.source } }, context);
    });
    return (await this.batch(batch.name))!;
  }

  async ensureIssuedBatch(batch: NewBatch, context: LedgerContext): Promise<BatchSummary> {
    if (batch.kind !== 'issued') throw new InputError(`ensureIssuedBatch takes batches of kind 'issued', not '${batch.kind}'`);
    this.#write(() => {
      const row = this.#batchRow(batch.name);
      if (!row) {
        this.#insertBatch(batch, context);
        this.#event({ kind: 'batch-created', batch: batch.name, detail: { kind: 'issued', source: batch.source } }, context);
        return;
      }
      checkIssuedBatch(row, batch);
    });
    return (await this.batch(batch.name))!;
  }

  async batch(name: string): Promise<BatchSummary | undefined> {
    const row = this.#batchRow(name);
    return row ? this.#summary(row) : undefined;
  }

  async batches(): Promise<BatchSummary[]> {
    const rows = this.#db.prepare(`SELECT * FROM batches ORDER BY id`).all() as BatchRow[];
    return rows.map((row) => this.#summary(row));
  }

  async recordDevice(device: DeviceRecord, context: LedgerContext): Promise<void> {
    this.#write(() => {
      const now = this.#now().toISOString();
      this.#db
        .prepare(
          `INSERT INTO devices (mac, chip, firmware, storage_mode, identity_source, station_mac, warnings, first_seen, last_seen)
           VALUES (@mac, @chip, @firmware, @storage_mode, @identity_source, @station_mac, @warnings, @now, @now)
           ON CONFLICT (mac) DO UPDATE SET chip = excluded.chip, firmware = excluded.firmware,
             storage_mode = COALESCE(excluded.storage_mode, devices.storage_mode), identity_source = excluded.identity_source,
             station_mac = excluded.station_mac, warnings = excluded.warnings, last_seen = excluded.last_seen`,
        )
        .run({
          mac: device.mac,
          chip: device.chip,
          firmware: device.firmware,
          storage_mode: device.storageMode ?? null,
          identity_source: device.identitySource,
          station_mac: device.stationMac ?? null,
          warnings: JSON.stringify(device.warnings ?? []),
          now,
        });
      this.#event(
        {
          kind: 'device-identified',
          device: device.mac,
          detail: { chip: device.chip, firmware: device.firmware, identitySource: device.identitySource, ...(device.warnings?.length ? { warnings: device.warnings } : {}) },
        },
        context,
      );
    });
  }

  async device(mac: string): Promise<DeviceRecord | undefined> {
    const row = this.#db.prepare(`SELECT * FROM devices WHERE mac = ?`).get(mac) as
      | { mac: string; chip: string; firmware: string; storage_mode: string | null; identity_source: string; station_mac: string | null; warnings: string }
      | undefined;
    if (!row) return undefined;
    return {
      mac: row.mac,
      chip: row.chip,
      firmware: row.firmware,
      ...(row.storage_mode ? { storageMode: row.storage_mode as DeviceRecord['storageMode'] } : {}),
      identitySource: row.identity_source as DeviceRecord['identitySource'],
      ...(row.station_mac ? { stationMac: row.station_mac } : {}),
      warnings: JSON.parse(row.warnings) as string[],
    };
  }

  async claim(request: { batch: string; device: string }, context: LedgerContext): Promise<ClaimResult> {
    const claimed = this.#write((): { id: number; existing: boolean } | 'exhausted' => {
      const batch = this.#requireBatch(request.batch, 'sets');
      const current = this.#currentId(batch.id, request.device);
      if (current !== undefined) return { id: current, existing: true };
      const free = this.#db
        .prepare(`SELECT s.id, s.name FROM sets s WHERE s.batch_id = ? AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.set_id = s.id) ORDER BY s.id LIMIT 1`)
        .get(batch.id) as { id: number; name: string } | undefined;
      if (!free) return 'exhausted';
      return { id: this.#insertAssignment(batch.id, free.id, request.device, context, request.batch, free.name), existing: false };
    });
    if (claimed === 'exhausted') return { kind: 'exhausted', batch: (await this.batch(request.batch))! };
    return { kind: claimed.existing ? 'existing' : 'claimed', assignment: this.#assignment(claimed.id)! };
  }

  async claimIssued(request: { batch: string; device: string; set: NewSet }, context: LedgerContext): Promise<ClaimResult> {
    const claimed = this.#write((): { id: number; existing: boolean } => {
      const batch = this.#requireBatch(request.batch, 'issued');
      const current = this.#currentId(batch.id, request.device);
      if (current !== undefined) return { id: current, existing: true };
      const setId = this.#insertSet(batch.id, request.set);
      return { id: this.#insertAssignment(batch.id, setId, request.device, context, request.batch, request.set.name), existing: false };
    });
    return { kind: claimed.existing ? 'existing' : 'claimed', assignment: this.#assignment(claimed.id)! };
  }

  async transition(id: number, to: AssignmentState, context: LedgerContext, reason?: string, detail: Record<string, unknown> = {}): Promise<Assignment> {
    this.#write(() => {
      const row = this.#requireAssignment(id);
      if (!TRANSITIONS[row.state].includes(to)) {
        throw new LedgerStateError(`assignment ${id} (${row.set_name} → ${row.device}) is ${row.state}; it cannot become ${to}`, {
          details: { assignmentId: id, state: row.state, to },
        });
      }
      const keepsReason = to === 'failed' || to === 'suspect';
      this.#db
        .prepare(`UPDATE assignments SET state = ?, reason = ?, station = ?, port = ?, updated_at = ? WHERE id = ? AND state = ?`)
        .run(to, keepsReason ? (reason ?? null) : null, context.station, context.port ?? row.port, this.#now().toISOString(), id, row.state);
      this.#event(
        { kind: to, device: row.device, batch: row.batch_name, set: row.set_name, assignmentId: id, detail: { from: row.state, ...(reason ? { reason } : {}), ...detail } },
        context,
      );
    });
    return this.#assignment(id)!;
  }

  async release(id: number, context: LedgerContext, reason: string): Promise<void> {
    this.#write(() => {
      const row = this.#requireAssignment(id);
      if (row.state !== 'reserved') {
        throw new LedgerStateError(`assignment ${id} (${row.set_name} → ${row.device}) is ${row.state}: its set may have reached the module and stays bound to it`, {
          details: { assignmentId: id, state: row.state },
        });
      }
      this.#db.prepare(`DELETE FROM assignments WHERE id = ? AND state = 'reserved'`).run(id);
      // An issued set exists only for its device: released, it goes (its key is gone with the process).
      const kind = (this.#db.prepare(`SELECT kind FROM batches WHERE name = ?`).get(row.batch_name) as { kind: BatchKind }).kind;
      if (kind === 'issued') this.#db.prepare(`DELETE FROM sets WHERE id = ?`).run(row.set_id);
      this.#event({ kind: 'released', device: row.device, batch: row.batch_name, set: row.set_name, assignmentId: id, detail: { reason } }, context);
    });
  }

  async retire(id: number, context: LedgerContext, reason: string): Promise<Assignment> {
    this.#write(() => {
      const row = this.#requireAssignment(id);
      if (row.state === 'verified' || row.state === 'reserved' || row.current === 0) {
        throw new LedgerStateError(`assignment ${id} (${row.set_name} → ${row.device}) is ${row.current ? row.state : 'retired'}; it cannot be retired`, {
          details: { assignmentId: id, state: row.state },
        });
      }
      this.#db.prepare(`UPDATE assignments SET current = 0, reason = ?, updated_at = ? WHERE id = ?`).run(reason, this.#now().toISOString(), id);
      this.#event({ kind: 'retired', device: row.device, batch: row.batch_name, set: row.set_name, assignmentId: id, detail: { state: row.state, reason } }, context);
    });
    return this.#assignment(id)!;
  }

  async assignment(id: number): Promise<Assignment | undefined> {
    return this.#assignment(id);
  }

  async currentAssignment(batch: string, device: string): Promise<Assignment | undefined> {
    const row = this.#db.prepare(`${ASSIGNMENT_SELECT} WHERE b.name = ? AND a.device = ? AND a.current = 1`).get(batch, device) as AssignmentRow | undefined;
    return row ? toAssignment(row) : undefined;
  }

  async assignmentsOf(device: string): Promise<Assignment[]> {
    return (this.#db.prepare(`${ASSIGNMENT_SELECT} WHERE a.device = ? ORDER BY a.id`).all(device) as AssignmentRow[]).map(toAssignment);
  }

  async inFlight(filter: { station?: string } = {}): Promise<Assignment[]> {
    const rows =
      filter.station === undefined
        ? this.#db.prepare(`${ASSIGNMENT_SELECT} WHERE a.state IN ('reserved', 'writing') ORDER BY a.id`).all()
        : this.#db.prepare(`${ASSIGNMENT_SELECT} WHERE a.state IN ('reserved', 'writing') AND a.station = ? ORDER BY a.id`).all(filter.station);
    return (rows as AssignmentRow[]).map(toAssignment);
  }

  async appendEvent(event: NewEvent, context: LedgerContext): Promise<void> {
    this.#write(() => this.#event(event, context));
  }

  async events(filter: { device?: string; assignmentId?: number } = {}): Promise<LedgerEvent[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.device !== undefined) {
      where.push('device = ?');
      params.push(filter.device);
    }
    if (filter.assignmentId !== undefined) {
      where.push('assignment_id = ?');
      params.push(filter.assignmentId);
    }
    const sql = `SELECT * FROM events ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id`;
    const rows = this.#db.prepare(sql).all(...params) as EventRow[];
    return rows.map((row) => ({
      id: row.id,
      time: new Date(row.time),
      station: row.station,
      port: row.port ?? undefined,
      actor: row.actor,
      kind: row.kind,
      device: row.device ?? undefined,
      batch: row.batch ?? undefined,
      set: row.set_name ?? undefined,
      assignmentId: row.assignment_id ?? undefined,
      detail: JSON.parse(row.detail) as Record<string, unknown>,
    }));
  }

  async exportRecords(): Promise<ExportRecord[]> {
    const rows = this.#db.prepare(`${ASSIGNMENT_SELECT} WHERE a.state != 'reserved' ORDER BY a.id`).all() as AssignmentRow[];
    const kinds = new Map((this.#db.prepare(`SELECT name, kind FROM batches`).all() as { name: string; kind: BatchKind }[]).map((b) => [b.name, b.kind]));
    return rows.map((row) => ({
      device: row.device,
      set: kinds.get(row.batch_name) === 'issued' ? undefined : row.set_name,
      batch: row.batch_name,
      certSerial: row.serial_hex,
      certSha256: row.sha256_hex,
      subject: row.subject,
      station: row.station,
      port: row.port ?? undefined,
      time: row.updated_at,
      outcome: exportOutcome(row.state)!,
    }));
  }

  /** The durability settings of this connection (reported by `ledger show`, checked by tests). */
  durability(): { journalMode: string; synchronous: 'FULL' | 'other' } {
    return {
      journalMode: String(this.#db.pragma('journal_mode', { simple: true })),
      synchronous: this.#db.pragma('synchronous', { simple: true }) === 2 ? 'FULL' : 'other',
    };
  }

  async close(): Promise<void> {
    if (this.#db.open) this.#db.close();
  }

  /** Run fn in a BEGIN IMMEDIATE transaction (the write lock is taken first: no upgrade deadlock between processes). */
  #write<T>(fn: () => T): T {
    return this.#db.transaction(fn).immediate();
  }

  #batchRow(name: string): BatchRow | undefined {
    return this.#db.prepare(`SELECT * FROM batches WHERE name = ?`).get(name) as BatchRow | undefined;
  }

  #requireBatch(name: string, kind: BatchKind): BatchRow {
    const row = this.#batchRow(name);
    if (!row) throw new InputError(`the ledger has no batch named ${JSON.stringify(name)}`, { details: { batch: name } });
    if (row.kind !== kind) {
      throw new InputError(
        kind === 'sets'
          ? `batch ${JSON.stringify(name)} is for per-device issuance (--issue), not ready-made sets`
          : `batch ${JSON.stringify(name)} holds imported sets, not issued ones`,
        { details: { batch: name, kind: row.kind } },
      );
    }
    return row;
  }

  #summary(row: BatchRow): BatchSummary {
    const total = (this.#db.prepare(`SELECT COUNT(*) AS n FROM sets WHERE batch_id = ?`).get(row.id) as { n: number }).n;
    const counts: Record<AssignmentState, number> = { reserved: 0, writing: 0, verified: 0, failed: 0, suspect: 0 };
    const byState = this.#db.prepare(`SELECT state, COUNT(*) AS n FROM assignments WHERE batch_id = ? GROUP BY state`).all(row.id) as { state: AssignmentState; n: number }[];
    let assigned = 0;
    for (const { state, n } of byState) {
      counts[state] = n;
      assigned += n;
    }
    return {
      name: row.name,
      kind: row.kind,
      source: row.source,
      station: row.station,
      createdAt: new Date(row.created_at),
      total,
      available: row.kind === 'issued' ? 0 : total - assigned,
      counts,
    };
  }

  #insertBatch(batch: NewBatch, context: LedgerContext): number {
    return Number(
      this.#db
        .prepare(`INSERT INTO batches (name, kind, source, station, created_at) VALUES (?, ?, ?, ?, ?)`)
        .run(batch.name, batch.kind, batch.source, context.station, this.#now().toISOString()).lastInsertRowid,
    );
  }

  #insertSet(batchId: number, set: NewSet): number {
    return Number(
      this.#db
        .prepare(
          `INSERT INTO sets (batch_id, name, certificate_pem, certificate_der, serial_hex, sha256_hex, subject, not_after, files)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(batchId, set.name, set.certificatePem, Buffer.from(set.certificateDer), set.serialHex, set.sha256Hex, set.subject, set.notAfter.toISOString(), JSON.stringify(set.files))
        .lastInsertRowid,
    );
  }

  #currentId(batchId: number, device: string): number | undefined {
    return (this.#db.prepare(`SELECT id FROM assignments WHERE batch_id = ? AND device = ? AND current = 1`).get(batchId, device) as { id: number } | undefined)?.id;
  }

  #insertAssignment(batchId: number, setId: number, device: string, context: LedgerContext, batch: string, set: string): number {
    if (!this.#db.prepare(`SELECT 1 FROM devices WHERE mac = ?`).get(device)) {
      throw new InputError(`device ${device} is not in the ledger: identify it (recordDevice) before claiming a set for it`, { details: { device } });
    }
    const now = this.#now().toISOString();
    const id = Number(
      this.#db
        .prepare(`INSERT INTO assignments (set_id, batch_id, device, state, current, station, port, created_at, updated_at) VALUES (?, ?, ?, 'reserved', 1, ?, ?, ?, ?)`)
        .run(setId, batchId, device, context.station, context.port ?? null, now, now).lastInsertRowid,
    );
    this.#event({ kind: 'claimed', device, batch, set, assignmentId: id }, context);
    return id;
  }

  #assignment(id: number): Assignment | undefined {
    const row = this.#db.prepare(`${ASSIGNMENT_SELECT} WHERE a.id = ?`).get(id) as AssignmentRow | undefined;
    return row ? toAssignment(row) : undefined;
  }

  #requireAssignment(id: number): AssignmentRow {
    const row = this.#db.prepare(`${ASSIGNMENT_SELECT} WHERE a.id = ?`).get(id) as AssignmentRow | undefined;
    if (!row) throw new LedgerStateError(`the ledger has no assignment ${id}`, { details: { assignmentId: id } });
    return row;
  }

  #event(event: NewEvent, context: LedgerContext): void {
    this.#db
      .prepare(`INSERT INTO events (time, station, port, actor, kind, device, batch, set_name, assignment_id, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
      .run(
        this.#now().toISOString(),
        context.station,
        context.port ?? null,
        actorOf(context),
        event.kind,
        event.device ?? null,
        event.batch ?? null,
        event.set ?? null,
        event.assignmentId ?? null,
        JSON.stringify(event.detail ?? {}),
      );
  }
}

interface BatchRow {
  id: number;
  name: string;
  kind: BatchKind;
  source: string;
  station: string;
  created_at: string;
}

interface EventRow {
  id: number;
  time: string;
  station: string;
  port: string | null;
  actor: string;
  kind: string;
  device: string | null;
  batch: string | null;
  set_name: string | null;
  assignment_id: number | null;
  detail: string;
}

function toAssignment(row: AssignmentRow): Assignment {
  const set: SetRecord = {
    id: row.set_id,
    batch: row.batch_name,
    name: row.set_name,
    certificatePem: row.certificate_pem,
    certificateDer: new Uint8Array(row.certificate_der),
    serialHex: row.serial_hex,
    sha256Hex: row.sha256_hex,
    subject: row.subject,
    notAfter: new Date(row.not_after),
    files: JSON.parse(row.files) as SetRecord['files'],
  };
  return {
    id: row.id,
    batch: row.batch_name,
    device: row.device,
    set,
    state: row.state,
    current: row.current === 1,
    station: row.station,
    port: row.port ?? undefined,
    reason: row.reason ?? undefined,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  };
}

function migrate(db: Database, path: string): void {
  // Version read and migration in one write transaction: two processes opening a new file at once
  // do not both apply a step.
  db.transaction(() => {
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > MIGRATIONS.length) {
      throw new InputError(`the ledger ${path} has schema version ${version}; this at-pki knows up to ${MIGRATIONS.length}: use a newer at-pki`, {
        details: { ledger: path, schemaVersion: version },
      });
    }
    for (let v = version; v < MIGRATIONS.length; v++) {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    }
  }).immediate();
}
