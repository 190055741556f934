/** Options shared by the commands that use a station ledger (`--ledger`, `--station`). Light: no ledger code here. */
import type { Command } from 'commander';
import { Option } from 'commander';

export interface LedgerOptions {
  ledger: string;
  station?: string;
}

export function addLedgerOptions(command: Command, options: { station?: boolean } = {}): Command {
  command.addOption(new Option('--ledger <file|url>', 'the ledger: an SQLite file (created if missing), or postgres://… (PostgreSQL)').env('AT_PKI_LEDGER').makeOptionMandatory());
  if (options.station !== false) command.option('--station <name>', 'the name this station records itself under (default: the host name)');
  return command;
}

export const LEDGER_HELP = `
The ledger records batches, sets (certificate, serial, SHA-256, subject, expiry: never a private
key), devices, which set each device got and an append-only event log (who, when, station, port).`;
