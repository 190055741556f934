/**
 * `--ledger SPEC` → a Ledger: `postgres://…` (or `postgresql://…`) is PostgreSQL (behind its local
 * outbox, which keeps outcomes while the database is away), anything else a path to an SQLite file.
 * Backends are imported only when used (better-sqlite3 and pg are heavy).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { InputError } from '../../errors.js';
import type { Ledger } from './ledger.js';

export interface OpenLedgerOptions {
  /** Clock, for tests. @default () => new Date() */
  now?: () => Date;
  /** Refuse a path where no ledger exists yet (export, show) instead of creating an empty one. */
  mustExist?: boolean;
  /** PostgreSQL: the password, read by the caller from an environment variable or a file (never from the URL on a command line). */
  password?: string;
  /** PostgreSQL: `--ledger-password-file FILE`; without it (and without `password`) AT_PKI_LEDGER_PASSWORD, then PGPASSWORD. */
  passwordFile?: string;
  /**
   * PostgreSQL: the local file that keeps unit outcomes while the database is away (ledger-outbox.ts).
   * @default AT_PKI_LEDGER_OUTBOX, else $XDG_STATE_HOME/at-pki (~/.local/state/at-pki)/ledger-outbox-<hash of the URL>.jsonl
   */
  outboxPath?: string;
}

/** Where a PostgreSQL ledger's local outbox lives on this host: one per database URL, shared by the stations of the host. */
export function defaultOutboxPath(spec: string, env: NodeJS.ProcessEnv = process.env): string {
  if (env.AT_PKI_LEDGER_OUTBOX) return env.AT_PKI_LEDGER_OUTBOX;
  const base = env.XDG_STATE_HOME || join(homedir(), '.local', 'state');
  return join(base, 'at-pki', `ledger-outbox-${createHash('sha256').update(spec.trim()).digest('hex').slice(0, 16)}.jsonl`);
}

export function isPostgresSpec(spec: string): boolean {
  return /^postgres(ql)?:\/\//i.test(spec);
}

export async function openLedger(spec: string, options: OpenLedgerOptions = {}): Promise<Ledger> {
  if (spec.trim() === '') throw new InputError('--ledger needs a file path or a postgres:// URL');
  if (isPostgresSpec(spec)) {
    const [{ PostgresLedger }, { ledgerPassword }, { OutboxLedger }] = await Promise.all([
      import('./postgres-ledger.js'),
      import('./postgres-url.js'),
      import('./ledger-outbox.js'),
    ]);
    const password = options.password ?? ledgerPassword(options.passwordFile === undefined ? {} : { passwordFile: options.passwordFile });
    const outbox = options.outboxPath ?? defaultOutboxPath(spec);
    try {
      mkdirSync(dirname(outbox), { recursive: true, mode: 0o700 });
    } catch (error) {
      throw new InputError(`cannot create the folder for the ledger's local outbox ${outbox}: ${(error as NodeJS.ErrnoException).code ?? String(error)} (set AT_PKI_LEDGER_OUTBOX)`);
    }
    const ledger = await PostgresLedger.open(spec, { ...(password === undefined ? {} : { password }), ...(options.now ? { now: options.now } : {}) });
    const wrapped = new OutboxLedger(ledger, outbox, options.now);
    // Outcomes an earlier process kept while the database was away go first.
    await wrapped.flush().catch(() => undefined);
    return wrapped;
  }
  if (options.passwordFile !== undefined) throw new InputError('--ledger-password-file is for a postgres:// ledger; an SQLite file has no password');
  if (options.mustExist && !existsSync(spec)) throw new InputError(`no ledger at ${spec}`, { details: { ledger: spec } });
  const { SqliteLedger } = await import('./sqlite-ledger.js');
  return SqliteLedger.open(spec, { now: options.now });
}
