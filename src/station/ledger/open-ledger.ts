/**
 * `--ledger SPEC` → a Ledger: `postgres://…` (or `postgresql://…`) is PostgreSQL, anything else a
 * path to an SQLite file. Backends are imported only when used (better-sqlite3 and pg are heavy).
 */
import { existsSync } from 'node:fs';
import { InputError } from '../../errors.js';
import type { Ledger } from './ledger.js';

export interface OpenLedgerOptions {
  /** Clock, for tests. @default () => new Date() */
  now?: () => Date;
  /** Refuse a path where no ledger exists yet (export, show) instead of creating an empty one. */
  mustExist?: boolean;
  /** PostgreSQL: the password, read by the caller from an environment variable or a file (never from the URL on a command line). */
  password?: string;
}

export function isPostgresSpec(spec: string): boolean {
  return /^postgres(ql)?:\/\//i.test(spec);
}

export async function openLedger(spec: string, options: OpenLedgerOptions = {}): Promise<Ledger> {
  if (spec.trim() === '') throw new InputError('--ledger needs a file path or a postgres:// URL');
  if (isPostgresSpec(spec)) {
    throw new InputError('PostgreSQL ledgers (postgres://…) are not built yet in this version; use an SQLite file path', { details: { ledger: 'postgres' } });
  }
  if (options.mustExist && !existsSync(spec)) throw new InputError(`no ledger at ${spec}`, { details: { ledger: spec } });
  const { SqliteLedger } = await import('./sqlite-ledger.js');
  return SqliteLedger.open(spec, { now: options.now });
}
