/**
 * `at-pki ledger <subcommand>`: the station ledger. `migrate` brings a PostgreSQL ledger's schema to
 * this version (stations refuse an older one); an SQLite file migrates when opened.
 */
import type { Command } from 'commander';
import type { CliIo } from '../io.js';
import { addLedgerOptions, type LedgerCliOptions } from '../ledger-options.js';
import { addExamples, addJsonOption, type JsonOption } from '../output.js';

export interface LedgerMigrateOptions extends LedgerCliOptions, JsonOption {}

export function registerLedger(program: Command, io: CliIo): void {
  const ledger = program
    .command('ledger')
    .summary("the station ledger: who got which credential set")
    .description('Work with the station ledger (an SQLite file, or a PostgreSQL database shared by several stations).');

  const migrate = ledger
    .command('migrate')
    .summary('bring the ledger schema to this version of at-pki')
    .description(
      'Apply the schema migrations this at-pki has and the ledger lacks, in one transaction (concurrent runs wait for each ' +
        'other). Stations refuse a PostgreSQL ledger at an older schema until this ran; stop them first. An SQLite file ' +
        'migrates when it is opened; this only reports its version.',
    );
  addLedgerOptions(migrate);
  addJsonOption(migrate);
  addExamples(migrate, [
    'AT_PKI_LEDGER_PASSWORD=… at-pki ledger migrate --ledger postgres://atpki@db.factory/ledger',
    'at-pki ledger migrate --ledger postgres://atpki@/ledger?host=/run/postgresql --ledger-password-file /etc/at-pki/ledger.pw',
    'at-pki ledger migrate --ledger station.sqlite --json',
  ]);
  migrate.action(async (options: LedgerMigrateOptions) => {
    const { runLedgerMigrate } = await import('../ledger-migrate.js');
    await runLedgerMigrate(options, io);
  });
}
