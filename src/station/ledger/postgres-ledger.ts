/**
 * The ledger in PostgreSQL (node `pg`): one database that several stations share. All SQL of this
 * backend is here. Every state change runs in its own transaction; the claim is one statement that
 * takes the batch's next available set with FOR UPDATE SKIP LOCKED (concurrent claimers skip each
 * other's rows instead of queueing on them), and UNIQUE constraints (a set in one assignment, one
 * current assignment per device and batch, a certificate once) have the last word.
 *
 * The schema is versioned: `at-pki ledger migrate` applies what is missing (PostgresLedger.migrate);
 * opening checks the version and refuses a database at an older schema (or a newer one). An empty
 * database gets the current schema at first open, as a new SQLite file does.
 */
import pg from 'pg';
import { InputError, LedgerStateError, LedgerUnavailableError } from '../../errors.js';
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
import { parsePostgresUrl, type PostgresTarget } from './postgres-url.js';

/** Each entry brings the schema from version i to i+1. Never edit one that shipped: append. */
export const POSTGRES_MIGRATIONS: readonly string[] = [
  `CREATE TABLE batches (
     id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     name text NOT NULL UNIQUE,
     kind text NOT NULL CHECK (kind IN ('sets', 'issued')),
     source text NOT NULL,
     station text NOT NULL,
     created_at timestamptz NOT NULL
   );
   CREATE TABLE sets (
     id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     batch_id bigint NOT NULL REFERENCES batches(id),
     name text NOT NULL,
     certificate_pem text NOT NULL,
     certificate_der bytea NOT NULL,
     serial_hex text NOT NULL,
     sha256_hex text NOT NULL UNIQUE,
     subject text NOT NULL,
     not_after timestamptz NOT NULL,
     -- json, not jsonb: the file list comes back exactly as stored (key order included).
     files json NOT NULL,
     available boolean NOT NULL DEFAULT true,
     UNIQUE (batch_id, name)
   );
   CREATE INDEX sets_available ON sets (batch_id, id) WHERE available;
   CREATE TABLE devices (
     mac text PRIMARY KEY,
     chip text NOT NULL,
     firmware text NOT NULL,
     storage_mode text,
     identity_source text NOT NULL CHECK (identity_source IN ('efuse', 'station-mac')),
     station_mac text,
     warnings jsonb NOT NULL,
     first_seen timestamptz NOT NULL,
     last_seen timestamptz NOT NULL
   );
   CREATE TABLE assignments (
     id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     set_id bigint NOT NULL UNIQUE REFERENCES sets(id),
     batch_id bigint NOT NULL REFERENCES batches(id),
     device text NOT NULL REFERENCES devices(mac),
     state text NOT NULL CHECK (state IN ('reserved', 'writing', 'verified', 'failed', 'suspect')),
     current boolean NOT NULL DEFAULT true,
     station text NOT NULL,
     port text,
     reason text,
     created_at timestamptz NOT NULL,
     updated_at timestamptz NOT NULL
   );
   CREATE UNIQUE INDEX assignments_one_current ON assignments (batch_id, device) WHERE current;
   CREATE INDEX assignments_device ON assignments (device);
   CREATE INDEX assignments_in_flight ON assignments (state) WHERE state IN ('reserved', 'writing');
   CREATE TABLE events (
     id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     time timestamptz NOT NULL,
     station text NOT NULL,
     port text,
     actor text NOT NULL,
     kind text NOT NULL,
     device text,
     batch text,
     set_name text,
     assignment_id bigint,
     detail jsonb NOT NULL
   );
   CREATE INDEX events_device ON events (device);
   CREATE INDEX events_assignment ON events (assignment_id);
   CREATE FUNCTION at_pki_events_append_only() RETURNS trigger LANGUAGE plpgsql AS
     $$ BEGIN RAISE EXCEPTION 'the event log is append-only'; END $$;
   CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events FOR EACH ROW EXECUTE FUNCTION at_pki_events_append_only();
   CREATE TRIGGER events_append_only_truncate BEFORE TRUNCATE ON events FOR EACH STATEMENT EXECUTE FUNCTION at_pki_events_append_only();`,
  // v2: outcomes a station kept locally while the database was away are replayed with the id they
  // got then; a replay that already landed (the reply was lost, not the write) is recognised.
  `ALTER TABLE events ADD COLUMN op_id text;
   CREATE UNIQUE INDEX events_op_id ON events (op_id) WHERE op_id IS NOT NULL;`,
];

export const POSTGRES_SCHEMA_VERSION = POSTGRES_MIGRATIONS.length;

/** Serialises migrations between processes (pg_advisory_xact_lock key: "at-pki" in ASCII). */
const MIGRATION_LOCK = 0x61742d706b69;

export interface PostgresLedgerOptions {
  /** From ledgerPassword(): a file, AT_PKI_LEDGER_PASSWORD or PGPASSWORD. Never from the URL. */
  password?: string;
  /** Clock, for tests. @default () => new Date() */
  now?: () => Date;
  /** Connections kept open. @default 4 */
  poolSize?: number;
  /** How long to wait for a connection, ms. @default 10000 */
  connectTimeoutMs?: number;
  /** Longest a statement (including lock waits) may take, ms. @default 30000 */
  statementTimeoutMs?: number;
}

/** When a change happened and the id that makes its replay idempotent (local outbox replays). */
export interface ChangeStamp {
  time?: Date;
  opId?: string;
}

interface AssignmentRow {
  id: string;
  set_id: string;
  batch_name: string;
  batch_kind: BatchKind;
  device: string;
  state: AssignmentState;
  current: boolean;
  station: string;
  port: string | null;
  reason: string | null;
  created_at: Date;
  updated_at: Date;
  set_name: string;
  certificate_pem: string;
  certificate_der: Buffer;
  serial_hex: string;
  sha256_hex: string;
  subject: string;
  not_after: Date;
  files: SetRecord['files'];
}

interface BatchRow {
  id: string;
  name: string;
  kind: BatchKind;
  source: string;
  station: string;
  created_at: Date;
}

const ASSIGNMENT_SELECT = `SELECT a.id, a.set_id, b.name AS batch_name, b.kind AS batch_kind, a.device, a.state, a.current, a.station, a.port,
  a.reason, a.created_at, a.updated_at, s.name AS set_name, s.certificate_pem, s.certificate_der, s.serial_hex, s.sha256_hex,
  s.subject, s.not_after, s.files
  FROM assignments a JOIN sets s ON s.id = a.set_id JOIN batches b ON b.id = a.batch_id`;

/**
 * The claim: the batch's first available set nobody else is taking right now, marked taken and
 * bound to the device, in one statement. A concurrent claimer skips the row (SKIP LOCKED); one
 * whose snapshot predates a finished claim re-checks `available` on the locked row and moves on.
 */
const CLAIM_NEXT = (skipLocked: boolean): string => `
  WITH picked AS (
    SELECT id FROM sets WHERE batch_id = $1 AND available ORDER BY id LIMIT 1 FOR UPDATE${skipLocked ? ' SKIP LOCKED' : ''}
  ), taken AS (
    UPDATE sets SET available = false FROM picked WHERE sets.id = picked.id RETURNING sets.id, sets.name
  ), claimed AS (
    INSERT INTO assignments (set_id, batch_id, device, state, current, station, port, created_at, updated_at)
    SELECT taken.id, $1, $2, 'reserved', true, $3, $4, $5, $5 FROM taken
    RETURNING id, set_id
  ), logged AS (
    INSERT INTO events (time, station, port, actor, kind, device, batch, set_name, assignment_id, detail)
    SELECT $5, $3, $4, $6, 'claimed', $2, $7, taken.name, claimed.id, '{}'::jsonb FROM claimed JOIN taken ON taken.id = claimed.set_id
  )
  SELECT id FROM claimed`;

/** What a claim needs to know first, in one round trip: the batch, the device's current assignment in it, whether the device is known. */
const CLAIM_CONTEXT = `SELECT b.id, b.kind,
    (SELECT a.id FROM assignments a WHERE a.batch_id = b.id AND a.device = $2 AND a.current) AS current,
    EXISTS (SELECT 1 FROM devices WHERE mac = $2) AS known
  FROM batches b WHERE b.name = $1`;

/** SQLSTATE classes that mean the connection or the server went away, not that the request was wrong. */
function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (/^(08|57P0[1-3]|53300)/.test(code)) return true;
    if (['ECONNREFUSED', 'ECONNRESET', 'ENOENT', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND'].includes(code)) return true;
  }
  const message = error instanceof Error ? error.message : '';
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|Connection ended/i.test(message);
}

function isUniqueViolation(error: unknown, constraint?: string): boolean {
  const e = error as { code?: unknown; constraint?: unknown };
  return e.code === '23505' && (constraint === undefined || e.constraint === constraint);
}

export class PostgresLedger implements Ledger {
  readonly backend = 'postgres';
  readonly #pool: pg.Pool;
  readonly #now: () => Date;

  private constructor(
    readonly location: string,
    pool: pg.Pool,
    now: () => Date,
  ) {
    this.#pool = pool;
    this.#now = now;
  }

  /** Connect and check the schema; an empty database gets the current schema. */
  static async open(url: string, options: PostgresLedgerOptions = {}): Promise<PostgresLedger> {
    const target = parsePostgresUrl(url);
    const pool = createPool(target, options);
    try {
      await withTransaction(pool, target.display, async (client) => {
        const version = await schemaVersion(client);
        if (version === 0 && !(await hasForeignTables(client))) {
          await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
          if ((await schemaVersion(client)) === 0) await applyMigrations(client, 0);
          return;
        }
        checkVersion(version, target.display);
      });
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw error;
    }
    return new PostgresLedger(target.display, pool, options.now ?? (() => new Date()));
  }

  /** `at-pki ledger migrate`: apply the missing migrations. Returns the versions before and after. */
  static async migrate(url: string, options: PostgresLedgerOptions = {}): Promise<{ from: number; to: number }> {
    const target = parsePostgresUrl(url);
    const pool = createPool(target, options);
    try {
      return await withTransaction(pool, target.display, async (client) => {
        await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
        const from = await schemaVersion(client);
        if (from > POSTGRES_SCHEMA_VERSION) checkVersion(from, target.display);
        if (from === 0 && (await hasForeignTables(client))) {
          throw new InputError(`the database ${target.display} already holds tables that are not an at-pki ledger (batches, sets, …); use an empty database`);
        }
        await applyMigrations(client, from);
        return { from, to: POSTGRES_SCHEMA_VERSION };
      });
    } finally {
      await pool.end().catch(() => undefined);
    }
  }

  async importBatch(batch: NewBatch, sets: readonly NewSet[], context: LedgerContext): Promise<BatchSummary> {
    if (batch.kind !== 'sets') throw new InputError(`importBatch takes batches of kind 'sets', not '${batch.kind}'`);
    try {
      await this.#tx(async (c) => {
        if (await batchRow(c, batch.name)) {
          throw batchNameTaken(batch.name);
        }
        const seen = new Map<string, string>();
        for (const set of sets) {
          const other = seen.get(set.sha256Hex);
          if (other !== undefined) {
            throw sameCertificateInImport(other, set.name, set.sha256Hex);
          }
          seen.set(set.sha256Hex, set.name);
        }
        const existing = await c.query<{ sha256_hex: string; name: string; batch: string }>(
          `SELECT s.sha256_hex, s.name, b.name AS batch FROM sets s JOIN batches b ON b.id = s.batch_id WHERE s.sha256_hex = ANY($1::text[]) ORDER BY s.id LIMIT 1`,
          [[...seen.keys()]],
        );
        const clash = existing.rows[0];
        if (clash) {
          throw certificateAlreadyInLedger(seen.get(clash.sha256_hex)!, clash.sha256_hex, clash);
        }
        const batchId = await this.#insertBatch(c, batch, context);
        for (const set of sets) await insertSet(c, batchId, set, true);
        await this.#event(c, { kind: 'batch-imported', batch: batch.name, detail: { sets: sets.length, source: batch.source } }, context);
      });
    } catch (error) {
      // Another station imported the same certificate or batch name at the same moment: the constraint decides.
      if (isUniqueViolation(error)) {
        throw new InputError(`batch ${JSON.stringify(batch.name)}: a set's certificate or the batch name is already in the ledger (${(error as Error).message}); nothing imported`, {
          details: { batch: batch.name },
        });
      }
      throw error;
    }
    return (await this.batch(batch.name))!;
  }

  async ensureIssuedBatch(batch: NewBatch, context: LedgerContext): Promise<BatchSummary> {
    if (batch.kind !== 'issued') throw new InputError(`ensureIssuedBatch takes batches of kind 'issued', not '${batch.kind}'`);
    await this.#tx(async (c) => {
      const inserted = await c.query(
        `INSERT INTO batches (name, kind, source, station, created_at) VALUES ($1, 'issued', $2, $3, $4) ON CONFLICT (name) DO NOTHING`,
        [batch.name, batch.source, context.station, this.#now()],
      );
      if (inserted.rowCount === 1) {
        await this.#event(c, { kind: 'batch-created', batch: batch.name, detail: { kind: 'issued', source: batch.source } }, context);
      }
      const row = (await batchRow(c, batch.name))!;
      checkIssuedBatch(row, batch);
    });
    return (await this.batch(batch.name))!;
  }

  async batch(name: string): Promise<BatchSummary | undefined> {
    return this.#read(async (c) => {
      const row = await batchRow(c, name);
      return row ? summary(c, row) : undefined;
    });
  }

  async batches(): Promise<BatchSummary[]> {
    return this.#read(async (c) => {
      const rows = (await c.query<BatchRow>(`SELECT * FROM batches ORDER BY id`)).rows;
      const summaries: BatchSummary[] = [];
      for (const row of rows) summaries.push(await summary(c, row));
      return summaries;
    });
  }

  async recordDevice(device: DeviceRecord, context: LedgerContext): Promise<void> {
    await this.#tx(async (c) => {
      await c.query(
        `INSERT INTO devices (mac, chip, firmware, storage_mode, identity_source, station_mac, warnings, first_seen, last_seen)
         VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $8)
         ON CONFLICT (mac) DO UPDATE SET chip = excluded.chip, firmware = excluded.firmware,
           storage_mode = COALESCE(excluded.storage_mode, devices.storage_mode), identity_source = excluded.identity_source,
           station_mac = excluded.station_mac, warnings = excluded.warnings, last_seen = excluded.last_seen`,
        [device.mac, device.chip, device.firmware, device.storageMode ?? null, device.identitySource, device.stationMac ?? null, JSON.stringify(device.warnings ?? []), this.#now()],
      );
      await this.#event(
        c,
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
    const row = await this.#read(
      async (c) =>
        (
          await c.query<{ mac: string; chip: string; firmware: string; storage_mode: string | null; identity_source: string; station_mac: string | null; warnings: string[] }>(
            `SELECT * FROM devices WHERE mac = $1`,
            [mac],
          )
        ).rows[0],
    );
    if (!row) return undefined;
    return {
      mac: row.mac,
      chip: row.chip,
      firmware: row.firmware,
      ...(row.storage_mode ? { storageMode: row.storage_mode as DeviceRecord['storageMode'] } : {}),
      identitySource: row.identity_source as DeviceRecord['identitySource'],
      ...(row.station_mac ? { stationMac: row.station_mac } : {}),
      warnings: row.warnings,
    };
  }

  async claim(request: { batch: string; device: string }, context: LedgerContext): Promise<ClaimResult> {
    const claimed = await this.#retryOnCurrentClash(() =>
      this.#tx(async (c): Promise<{ id: string; existing: boolean } | 'exhausted'> => {
        const found = (await c.query<{ id: string; kind: BatchKind; current: string | null; known: boolean }>(CLAIM_CONTEXT, [request.batch, request.device])).rows[0];
        checkBatch(found, request.batch, 'sets');
        if (found.current !== null) return { id: found.current, existing: true };
        if (!found.known) throw unknownDevice(request.device);
        const params = [found.id, request.device, context.station, context.port ?? null, this.#now(), actorOf(context), request.batch];
        let inserted = await c.query<{ id: string }>(CLAIM_NEXT(true), params);
        // None free, or the last free ones are being claimed right now: wait for those claims to
        // finish (no SKIP LOCKED) so that "exhausted" is the truth, not a race.
        if (inserted.rowCount === 0) inserted = await c.query<{ id: string }>(CLAIM_NEXT(false), params);
        const row = inserted.rows[0];
        if (!row) return 'exhausted';
        return { id: row.id, existing: false };
      }),
    );
    if (claimed === 'exhausted') return { kind: 'exhausted', batch: (await this.batch(request.batch))! };
    return { kind: claimed.existing ? 'existing' : 'claimed', assignment: (await this.assignment(Number(claimed.id)))! };
  }

  async claimIssued(request: { batch: string; device: string; set: NewSet }, context: LedgerContext): Promise<ClaimResult> {
    const claimed = await this.#retryOnCurrentClash(() =>
      this.#tx(async (c): Promise<{ id: string; existing: boolean }> => {
        const batch = await requireBatch(c, request.batch, 'issued');
        const current = await currentId(c, batch.id, request.device);
        if (current !== undefined) return { id: current, existing: true };
        await requireDevice(c, request.device);
        const setId = await insertSet(c, batch.id, request.set, false);
        const now = this.#now();
        const id = (
          await c.query<{ id: string }>(
            `INSERT INTO assignments (set_id, batch_id, device, state, current, station, port, created_at, updated_at)
             VALUES ($1, $2, $3, 'reserved', true, $4, $5, $6, $6) RETURNING id`,
            [setId, batch.id, request.device, context.station, context.port ?? null, now],
          )
        ).rows[0]!.id;
        await this.#event(c, { kind: 'claimed', device: request.device, batch: request.batch, set: request.set.name, assignmentId: Number(id) }, context);
        return { id, existing: false };
      }),
    );
    return { kind: claimed.existing ? 'existing' : 'claimed', assignment: (await this.assignment(Number(claimed.id)))! };
  }

  async transition(id: number, to: AssignmentState, context: LedgerContext, reason?: string, detail: Record<string, unknown> = {}): Promise<Assignment> {
    return this.transitionStamped(id, to, context, reason, detail, {});
  }

  /**
   * transition() at a given time with an idempotency id (a replay from the local outbox). A replay
   * whose op id is already in the event log changes nothing.
   */
  async transitionStamped(id: number, to: AssignmentState, context: LedgerContext, reason: string | undefined, detail: Record<string, unknown>, stamp: ChangeStamp): Promise<Assignment> {
    await this.#tx(async (c) => {
      if (stamp.opId !== undefined && (await opDone(c, stamp.opId))) return;
      const row = await lockAssignment(c, id);
      if (!TRANSITIONS[row.state].includes(to)) {
        throw new LedgerStateError(`assignment ${id} (${row.set_name} → ${row.device}) is ${row.state}; it cannot become ${to}`, {
          details: { assignmentId: id, state: row.state, to },
        });
      }
      const keepsReason = to === 'failed' || to === 'suspect';
      const time = stamp.time ?? this.#now();
      await c.query(`UPDATE assignments SET state = $1, reason = $2, station = $3, port = $4, updated_at = $5 WHERE id = $6`, [
        to,
        keepsReason ? (reason ?? null) : null,
        context.station,
        context.port ?? row.port,
        time,
        id,
      ]);
      await this.#event(
        c,
        { kind: to, device: row.device, batch: row.batch_name, set: row.set_name, assignmentId: id, detail: { from: row.state, ...(reason ? { reason } : {}), ...detail } },
        context,
        stamp,
      );
    });
    return (await this.assignment(id))!;
  }

  async release(id: number, context: LedgerContext, reason: string): Promise<void> {
    await this.#tx(async (c) => {
      const row = await lockAssignment(c, id);
      if (row.state !== 'reserved') {
        throw new LedgerStateError(`assignment ${id} (${row.set_name} → ${row.device}) is ${row.state}: its set may have reached the module and stays bound to it`, {
          details: { assignmentId: id, state: row.state },
        });
      }
      await c.query(`DELETE FROM assignments WHERE id = $1 AND state = 'reserved'`, [id]);
      // An issued set exists only for its device: released, it goes (its key is gone with the process).
      if (row.batch_kind === 'issued') await c.query(`DELETE FROM sets WHERE id = $1`, [row.set_id]);
      else await c.query(`UPDATE sets SET available = true WHERE id = $1`, [row.set_id]);
      await this.#event(c, { kind: 'released', device: row.device, batch: row.batch_name, set: row.set_name, assignmentId: id, detail: { reason } }, context);
    });
  }

  async retire(id: number, context: LedgerContext, reason: string): Promise<Assignment> {
    return this.retireStamped(id, context, reason, {});
  }

  async retireStamped(id: number, context: LedgerContext, reason: string, stamp: ChangeStamp): Promise<Assignment> {
    await this.#tx(async (c) => {
      if (stamp.opId !== undefined && (await opDone(c, stamp.opId))) return;
      const row = await lockAssignment(c, id);
      if (row.state === 'verified' || row.state === 'reserved' || !row.current) {
        throw new LedgerStateError(`assignment ${id} (${row.set_name} → ${row.device}) is ${row.current ? row.state : 'retired'}; it cannot be retired`, {
          details: { assignmentId: id, state: row.state },
        });
      }
      await c.query(`UPDATE assignments SET current = false, reason = $1, updated_at = $2 WHERE id = $3`, [reason, stamp.time ?? this.#now(), id]);
      await this.#event(c, { kind: 'retired', device: row.device, batch: row.batch_name, set: row.set_name, assignmentId: id, detail: { state: row.state, reason } }, context, stamp);
    });
    return (await this.assignment(id))!;
  }

  async assignment(id: number): Promise<Assignment | undefined> {
    const row = await this.#read(async (c) => (await c.query<AssignmentRow>(`${ASSIGNMENT_SELECT} WHERE a.id = $1`, [id])).rows[0]);
    return row ? toAssignment(row) : undefined;
  }

  async currentAssignment(batch: string, device: string): Promise<Assignment | undefined> {
    const row = await this.#read(async (c) => (await c.query<AssignmentRow>(`${ASSIGNMENT_SELECT} WHERE b.name = $1 AND a.device = $2 AND a.current`, [batch, device])).rows[0]);
    return row ? toAssignment(row) : undefined;
  }

  async assignmentsOf(device: string): Promise<Assignment[]> {
    return this.#read(async (c) => (await c.query<AssignmentRow>(`${ASSIGNMENT_SELECT} WHERE a.device = $1 ORDER BY a.id`, [device])).rows.map(toAssignment));
  }

  async inFlight(filter: { station?: string } = {}): Promise<Assignment[]> {
    return this.#read(async (c) => {
      const rows =
        filter.station === undefined
          ? await c.query<AssignmentRow>(`${ASSIGNMENT_SELECT} WHERE a.state IN ('reserved', 'writing') ORDER BY a.id`)
          : await c.query<AssignmentRow>(`${ASSIGNMENT_SELECT} WHERE a.state IN ('reserved', 'writing') AND a.station = $1 ORDER BY a.id`, [filter.station]);
      return rows.rows.map(toAssignment);
    });
  }

  async appendEvent(event: NewEvent, context: LedgerContext): Promise<void> {
    await this.appendEventStamped(event, context, {});
  }

  async appendEventStamped(event: NewEvent, context: LedgerContext, stamp: ChangeStamp): Promise<void> {
    await this.#tx(async (c) => {
      if (stamp.opId !== undefined && (await opDone(c, stamp.opId))) return;
      await this.#event(c, event, context, stamp);
    });
  }

  async events(filter: { device?: string; assignmentId?: number } = {}): Promise<LedgerEvent[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.device !== undefined) {
      params.push(filter.device);
      where.push(`device = $${params.length}`);
    }
    if (filter.assignmentId !== undefined) {
      params.push(filter.assignmentId);
      where.push(`assignment_id = $${params.length}`);
    }
    const sql = `SELECT * FROM events ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id`;
    const rows = await this.#read(
      async (c) =>
        (
          await c.query<{
            id: string;
            time: Date;
            station: string;
            port: string | null;
            actor: string;
            kind: string;
            device: string | null;
            batch: string | null;
            set_name: string | null;
            assignment_id: string | null;
            detail: Record<string, unknown>;
          }>(sql, params)
        ).rows,
    );
    return rows.map((row) => ({
      id: Number(row.id),
      time: row.time,
      station: row.station,
      port: row.port ?? undefined,
      actor: row.actor,
      kind: row.kind,
      device: row.device ?? undefined,
      batch: row.batch ?? undefined,
      set: row.set_name ?? undefined,
      assignmentId: row.assignment_id === null ? undefined : Number(row.assignment_id),
      detail: row.detail,
    }));
  }

  async exportRecords(): Promise<ExportRecord[]> {
    const rows = await this.#read(async (c) => (await c.query<AssignmentRow>(`${ASSIGNMENT_SELECT} WHERE a.state <> 'reserved' ORDER BY a.id`)).rows);
    return rows.map((row) => ({
      device: row.device,
      set: row.batch_kind === 'issued' ? undefined : row.set_name,
      batch: row.batch_name,
      certSerial: row.serial_hex,
      certSha256: row.sha256_hex,
      subject: row.subject,
      station: row.station,
      port: row.port ?? undefined,
      time: row.updated_at.toISOString(),
      outcome: exportOutcome(row.state)!,
    }));
  }

  async close(): Promise<void> {
    await this.#pool.end().catch(() => undefined);
  }

  /** Two stations claiming for the same device at once: the loser's insert hits assignments_one_current; it tries again and finds the winner's. */
  async #retryOnCurrentClash<T>(fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (error) {
        if (attempt < 3 && isUniqueViolation(error, 'assignments_one_current')) continue;
        throw error;
      }
    }
  }

  async #tx<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return withTransaction(this.#pool, this.location, fn);
  }

  async #read<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (error) {
      throw refusal(error, this.location) ?? unavailable(error, this.location);
    }
    let result: T;
    try {
      result = await fn(client);
    } catch (error) {
      const lost = isConnectionError(error);
      client.release(lost ? (error as Error) : undefined);
      throw lost ? unavailable(error, this.location) : error;
    }
    client.release();
    return result;
  }

  async #insertBatch(c: pg.PoolClient, batch: NewBatch, context: LedgerContext): Promise<string> {
    return (
      await c.query<{ id: string }>(`INSERT INTO batches (name, kind, source, station, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id`, [
        batch.name,
        batch.kind,
        batch.source,
        context.station,
        this.#now(),
      ])
    ).rows[0]!.id;
  }

  async #event(c: pg.PoolClient, event: NewEvent, context: LedgerContext, stamp: ChangeStamp = {}): Promise<void> {
    await c.query(
      `INSERT INTO events (time, station, port, actor, kind, device, batch, set_name, assignment_id, detail, op_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11)`,
      [
        stamp.time ?? this.#now(),
        context.station,
        context.port ?? null,
        actorOf(context),
        event.kind,
        event.device ?? null,
        event.batch ?? null,
        event.set ?? null,
        event.assignmentId ?? null,
        JSON.stringify(event.detail ?? {}),
        stamp.opId ?? null,
      ],
    );
  }
}

function createPool(target: PostgresTarget, options: PostgresLedgerOptions): pg.Pool {
  const config: pg.PoolConfig = {
    max: options.poolSize ?? 4,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
    statement_timeout: options.statementTimeoutMs ?? 30_000,
    // A server that vanished without closing the connection: give up a little after the server would have.
    query_timeout: (options.statementTimeoutMs ?? 30_000) + 5_000,
    idleTimeoutMillis: 30_000,
    application_name: target.applicationName ?? 'at-pki',
    keepAlive: true,
  };
  if (target.host !== undefined) config.host = target.host;
  if (target.port !== undefined) config.port = target.port;
  if (target.user !== undefined) config.user = target.user;
  if (target.database !== undefined) config.database = target.database;
  if (target.ssl !== undefined) config.ssl = target.ssl;
  if (options.password !== undefined) config.password = options.password;
  const pool = new pg.Pool(config);
  // An idle connection the server closed (restart, network): the pool drops it; the next query reconnects.
  pool.on('error', () => undefined);
  return pool;
}

function unavailable(error: unknown, location: string): LedgerUnavailableError {
  const message = error instanceof Error ? error.message : String(error);
  return new LedgerUnavailableError(`the ledger database ${location} cannot be reached: ${message}`, { cause: error, details: { ledger: location } });
}

/** Authentication and "no such database" are the user's to fix: exit 2, one line. */
function refusal(error: unknown, location: string): InputError | undefined {
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  if (code === '28P01' || code === '28000') return new InputError(`the ledger database ${location} refused the login: ${message} (password from --ledger-password-file, AT_PKI_LEDGER_PASSWORD or PGPASSWORD)`);
  if (code === '3D000') return new InputError(`the ledger database ${location} does not exist: ${message}`);
  if (/password must be a string|SASL/.test(message)) return new InputError(`the ledger database ${location} asks for a password: give it in AT_PKI_LEDGER_PASSWORD, PGPASSWORD or --ledger-password-file`);
  return undefined;
}

async function withTransaction<T>(pool: pg.Pool, location: string, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    throw refusal(error, location) ?? unavailable(error, location);
  }
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    client.release();
    return result;
  } catch (error) {
    const lost = isConnectionError(error);
    if (!lost) await client.query('ROLLBACK').catch(() => undefined);
    client.release(lost ? (error as Error) : undefined);
    throw lost ? unavailable(error, location) : error;
  }
}

async function schemaVersion(client: pg.PoolClient): Promise<number> {
  const table = await client.query<{ exists: boolean }>(`SELECT to_regclass('at_pki_schema') IS NOT NULL AS exists`);
  if (!table.rows[0]!.exists) return 0;
  return (await client.query<{ version: number | null }>(`SELECT max(version) AS version FROM at_pki_schema`)).rows[0]!.version ?? 0;
}

/** Tables of ours without a version table: someone else's database. */
async function hasForeignTables(client: pg.PoolClient): Promise<boolean> {
  const found = await client.query(`SELECT 1 FROM pg_tables WHERE schemaname = current_schema() AND tablename IN ('batches', 'sets', 'devices', 'assignments', 'events')`);
  return (found.rowCount ?? 0) > 0;
}

async function applyMigrations(client: pg.PoolClient, from: number): Promise<void> {
  await client.query(`CREATE TABLE IF NOT EXISTS at_pki_schema (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
  for (let v = from; v < POSTGRES_MIGRATIONS.length; v++) {
    await client.query(POSTGRES_MIGRATIONS[v]!);
    await client.query(`INSERT INTO at_pki_schema (version) VALUES ($1)`, [v + 1]);
  }
}

function checkVersion(version: number, location: string): void {
  if (version > POSTGRES_SCHEMA_VERSION) {
    throw new InputError(`the ledger ${location} has schema version ${version}; this at-pki knows up to ${POSTGRES_SCHEMA_VERSION}: use a newer at-pki`, {
      details: { ledger: location, schemaVersion: version },
    });
  }
  if (version < POSTGRES_SCHEMA_VERSION) {
    throw new InputError(
      `the ledger ${location} has schema version ${version}; this at-pki needs ${POSTGRES_SCHEMA_VERSION}: run at-pki ledger migrate --ledger ${location} (stop the stations first)`,
      { details: { ledger: location, schemaVersion: version, needed: POSTGRES_SCHEMA_VERSION } },
    );
  }
}

async function batchRow(c: pg.PoolClient, name: string): Promise<BatchRow | undefined> {
  return (await c.query<BatchRow>(`SELECT * FROM batches WHERE name = $1`, [name])).rows[0];
}

async function requireBatch(c: pg.PoolClient, name: string, kind: BatchKind): Promise<BatchRow> {
  const row = await batchRow(c, name);
  checkBatch(row, name, kind);
  return row;
}

function checkBatch<T extends { kind: BatchKind }>(row: T | undefined, name: string, kind: BatchKind): asserts row is T {
  if (!row) throw new InputError(`the ledger has no batch named ${JSON.stringify(name)}`, { details: { batch: name } });
  if (row.kind !== kind) {
    throw new InputError(
      kind === 'sets' ? `batch ${JSON.stringify(name)} is for per-device issuance (--issue), not ready-made sets` : `batch ${JSON.stringify(name)} holds imported sets, not issued ones`,
      { details: { batch: name, kind: row.kind } },
    );
  }
}

function unknownDevice(device: string): InputError {
  return new InputError(`device ${device} is not in the ledger: identify it (recordDevice) before claiming a set for it`, { details: { device } });
}

async function requireDevice(c: pg.PoolClient, device: string): Promise<void> {
  if ((await c.query(`SELECT 1 FROM devices WHERE mac = $1`, [device])).rowCount === 0) throw unknownDevice(device);
}

async function currentId(c: pg.PoolClient, batchId: string, device: string): Promise<string | undefined> {
  return (await c.query<{ id: string }>(`SELECT id FROM assignments WHERE batch_id = $1 AND device = $2 AND current`, [batchId, device])).rows[0]?.id;
}

async function insertSet(c: pg.PoolClient, batchId: string, set: NewSet, available: boolean): Promise<string> {
  return (
    await c.query<{ id: string }>(
      `INSERT INTO sets (batch_id, name, certificate_pem, certificate_der, serial_hex, sha256_hex, subject, not_after, files, available)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::json, $10) RETURNING id`,
      [batchId, set.name, set.certificatePem, Buffer.from(set.certificateDer), set.serialHex, set.sha256Hex, set.subject, set.notAfter, JSON.stringify(set.files), available],
    )
  ).rows[0]!.id;
}

async function lockAssignment(c: pg.PoolClient, id: number): Promise<AssignmentRow> {
  const row = (await c.query<AssignmentRow>(`${ASSIGNMENT_SELECT} WHERE a.id = $1 FOR UPDATE OF a`, [id])).rows[0];
  if (!row) throw new LedgerStateError(`the ledger has no assignment ${id}`, { details: { assignmentId: id } });
  return row;
}

async function opDone(c: pg.PoolClient, opId: string): Promise<boolean> {
  return ((await c.query(`SELECT 1 FROM events WHERE op_id = $1`, [opId])).rowCount ?? 0) > 0;
}

async function summary(c: pg.PoolClient, row: BatchRow): Promise<BatchSummary> {
  const total = Number((await c.query<{ n: string }>(`SELECT count(*) AS n FROM sets WHERE batch_id = $1`, [row.id])).rows[0]!.n);
  const counts: Record<AssignmentState, number> = { reserved: 0, writing: 0, verified: 0, failed: 0, suspect: 0 };
  const byState = await c.query<{ state: AssignmentState; n: string }>(`SELECT state, count(*) AS n FROM assignments WHERE batch_id = $1 GROUP BY state`, [row.id]);
  let assigned = 0;
  for (const { state, n } of byState.rows) {
    counts[state] = Number(n);
    assigned += Number(n);
  }
  return {
    name: row.name,
    kind: row.kind,
    source: row.source,
    station: row.station,
    createdAt: row.created_at,
    total,
    available: row.kind === 'issued' ? 0 : total - assigned,
    counts,
  };
}

function toAssignment(row: AssignmentRow): Assignment {
  const set: SetRecord = {
    id: Number(row.set_id),
    batch: row.batch_name,
    name: row.set_name,
    certificatePem: row.certificate_pem,
    certificateDer: new Uint8Array(row.certificate_der),
    serialHex: row.serial_hex,
    sha256Hex: row.sha256_hex,
    subject: row.subject,
    notAfter: row.not_after,
    files: row.files,
  };
  return {
    id: Number(row.id),
    batch: row.batch_name,
    device: row.device,
    set,
    state: row.state,
    current: row.current,
    station: row.station,
    port: row.port ?? undefined,
    reason: row.reason ?? undefined,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
