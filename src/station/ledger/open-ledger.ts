/**
 * `--ledger SPEC` → a Ledger: `postgres://…` (or `postgresql://…`) is PostgreSQL, anything else a
 * path to an SQLite file. Backends are imported only when used (better-sqlite3 and pg are heavy).
 */
import { InputError } from '../../errors.js';
import type { Ledger } from './ledger.js';

export interface OpenLedgerOptions {
  /** Clock, for tests. @default () => new Date() */
  now?: () => Date;
  /** PostgreSQL: the password, read by the caller from an environment variable or a file (never from the URL on a command line). */
  password?: string;
  /** PostgreSQL: `--ledger-password-file FILE`; without it (and without `password`) AT_PKI_LEDGER_PASSWORD, then PGPASSWORD. */
  passwordFile?: string;
}

export function isPostgresSpec(spec: string): boolean {
  return /^postgres(ql)?:\/\//i.test(spec);
}

export async function openLedger(spec: string, options: OpenLedgerOptions = {}): Promise<Ledger> {
  if (spec.trim() === '') throw new InputError('--ledger needs a file path or a postgres:// URL');
  if (isPostgresSpec(spec)) {
    const [{ PostgresLedger }, { ledgerPassword }] = await Promise.all([import('./postgres-ledger.js'), import('./postgres-url.js')]);
    const password = options.password ?? ledgerPassword(options.passwordFile === undefined ? {} : { passwordFile: options.passwordFile });
    return PostgresLedger.open(spec, { ...(password === undefined ? {} : { password }), ...(options.now ? { now: options.now } : {}) });
  }
  if (options.passwordFile !== undefined) throw new InputError('--ledger-password-file is for a postgres:// ledger; an SQLite file has no password');
  const { SqliteLedger } = await import('./sqlite-ledger.js');
  return SqliteLedger.open(spec, { now: options.now });
}
