/**
 * Options shared by the commands that use a station ledger (`--ledger`, `--ledger-password-file`,
 * `--station`). Light: no ledger code here. The PostgreSQL password comes from the password file,
 * AT_PKI_LEDGER_PASSWORD or PGPASSWORD; a URL carrying one is refused when the ledger is opened.
 */
import type { Command } from 'commander';
import { Option } from 'commander';

export interface LedgerOptions {
  ledger: string;
  ledgerPasswordFile?: string;
  station?: string;
}

export function addLedgerOptions(command: Command, options: { station?: boolean } = {}): Command {
  command.addOption(
    new Option('--ledger <file|url>', 'the ledger: an SQLite file (created if missing), or postgres://user@host/database (PostgreSQL; no password in it)')
      .env('AT_PKI_LEDGER')
      .makeOptionMandatory(),
  );
  command.option('--ledger-password-file <file>', 'PostgreSQL: read the password from this file (else AT_PKI_LEDGER_PASSWORD, else PGPASSWORD)');
  if (options.station !== false) command.option('--station <name>', 'the name this station records itself under (default: the host name)');
  return command;
}

/** What openLedger() needs from the options besides the spec. */
export function ledgerOpenOptions(options: Pick<LedgerOptions, 'ledgerPasswordFile'>): { passwordFile?: string } {
  return options.ledgerPasswordFile === undefined ? {} : { passwordFile: options.ledgerPasswordFile };
}

export const LEDGER_HELP = `
The ledger records batches, sets (certificate, serial, SHA-256, subject, expiry: never a private
key), devices, which set each device got and an append-only event log (who, when, station, port).
A postgres://user@host/database ledger is shared by several stations; its password comes from
--ledger-password-file, AT_PKI_LEDGER_PASSWORD or PGPASSWORD, never from the URL.`;
