/**
 * The options every command that uses the ledger shares: `--ledger FILE|URL` (a path is SQLite,
 * postgres://… is PostgreSQL) and `--ledger-password-file FILE`. The PostgreSQL password comes from
 * that file, AT_PKI_LEDGER_PASSWORD or PGPASSWORD; a URL carrying one is refused.
 */
import { Option, type Command } from 'commander';
import { UsageError } from '../errors.js';
import type { Ledger } from '../station/ledger/ledger.js';
import type { CliIo } from './io.js';

export interface LedgerCliOptions {
  ledger?: string;
  ledgerPasswordFile?: string;
}

export function addLedgerOptions(command: Command): Command {
  return command
    .addOption(new Option('--ledger <file|url>', 'the ledger: an SQLite file, or postgres://user@host/database (no password in it)').env('AT_PKI_LEDGER'))
    .option('--ledger-password-file <file>', 'PostgreSQL: read the password from this file (else AT_PKI_LEDGER_PASSWORD, else PGPASSWORD)');
}

/** The --ledger value, or a UsageError naming the option. */
export function requireLedgerSpec(options: LedgerCliOptions): string {
  if (!options.ledger) throw new UsageError('give the ledger with --ledger <file | postgres://user@host/database> (or AT_PKI_LEDGER)');
  return options.ledger;
}

/** The PostgreSQL password from --ledger-password-file or the environment; undefined for SQLite. */
export async function ledgerPasswordFor(options: LedgerCliOptions, io: CliIo): Promise<string | undefined> {
  const { isPostgresSpec } = await import('../station/ledger/open-ledger.js');
  if (!isPostgresSpec(requireLedgerSpec(options))) {
    if (options.ledgerPasswordFile !== undefined) throw new UsageError('--ledger-password-file is for a postgres:// ledger, not an SQLite file');
    return undefined;
  }
  const { ledgerPassword } = await import('../station/ledger/postgres-url.js');
  return ledgerPassword({ ...(options.ledgerPasswordFile !== undefined ? { passwordFile: options.ledgerPasswordFile } : {}), env: io.env });
}

/** Open the ledger the options name. */
export async function openLedgerFromOptions(options: LedgerCliOptions, io: CliIo): Promise<Ledger> {
  const spec = requireLedgerSpec(options);
  const password = await ledgerPasswordFor(options, io);
  const { openLedger } = await import('../station/ledger/open-ledger.js');
  return openLedger(spec, password === undefined ? {} : { password });
}
