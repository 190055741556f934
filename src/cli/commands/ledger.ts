/**
 * `at-pki ledger export|show|migrate`: what the station ledger recorded, and its schema. Registration
 * only; the work is loaded when it runs.
 */
import { Option, type Command } from 'commander';
import type { CliIo } from '../io.js';
import { addLedgerOptions, LEDGER_HELP, type LedgerOptions } from '../ledger-options.js';
import { addExamples, addJsonOption, type JsonOption } from '../output.js';

export interface LedgerExportOptions extends LedgerOptions {
  format: 'csv' | 'jsonl';
}

export interface LedgerShowOptions extends LedgerOptions, JsonOption {}

export interface LedgerMigrateOptions extends LedgerOptions, JsonOption {}

export function registerLedger(program: Command, io: CliIo): void {
  const ledger = program.command('ledger').summary('the factory station ledger (export, show, migrate)').description('What the factory station ledger recorded.');
  const exportCommand = ledger
    .command('export')
    .summary('one record per assignment, for cloud registration or an MES')
    .description(
      'Print one record per assignment that reached a module: device (MAC aa:bb:cc:dd:ee:ff), set (empty for issued ' +
        'certificates), batch, certSerial, certSha256, subject, station, port, time (ISO 8601, last change) and outcome ' +
        '(verified, failed, or suspect: the write may not have completed). CSV has a header line; JSONL one object per line.',
    )
    .addOption(new Option('--format <format>', 'csv or jsonl').choices(['csv', 'jsonl']).default('csv'));
  addLedgerOptions(exportCommand, { station: false });
  exportCommand.addHelpText('after', LEDGER_HELP);
  addExamples(exportCommand, ['at-pki ledger export --ledger station.db > provisioned.csv', 'at-pki ledger export --ledger station.db --format jsonl']);
  exportCommand.action(async (options: LedgerExportOptions) => {
    const { runLedgerExport } = await import('../ledger-command.js');
    await runLedgerExport(io, options);
  });

  const show = ledger
    .command('show')
    .summary("a device's record: identity, assignments, events")
    .description('Show what the ledger knows about one device: its identity (chip, firmware, storage, where the MAC came from), every set it got with its state, and its event log.')
    .argument('<mac>', 'the device MAC (aa:bb:cc:dd:ee:ff or 12 hex digits)');
  addLedgerOptions(show, { station: false });
  addJsonOption(show);
  addExamples(show, ['at-pki ledger show --ledger station.db 24:0a:c4:12:34:56', 'at-pki ledger show --ledger station.db 240ac4123456 --json']);
  show.action(async (mac: string, options: LedgerShowOptions) => {
    const { runLedgerShow } = await import('../ledger-command.js');
    await runLedgerShow(io, mac, options);
  });

  const migrate = ledger
    .command('migrate')
    .summary('bring the ledger schema to this version of at-pki')
    .description(
      'Apply the schema migrations this at-pki has and the ledger lacks, in one transaction (concurrent runs wait for each ' +
        'other). Stations refuse a PostgreSQL ledger at an older schema until this ran; stop them first. An SQLite file ' +
        'migrates when it is opened; this only reports its version.',
    );
  addLedgerOptions(migrate, { station: false });
  addJsonOption(migrate);
  addExamples(migrate, [
    'AT_PKI_LEDGER_PASSWORD=… at-pki ledger migrate --ledger postgres://atpki@db.factory/ledger',
    "at-pki ledger migrate --ledger 'postgres://atpki@/ledger?host=/run/postgresql' --ledger-password-file /etc/at-pki/ledger.pw",
    'at-pki ledger migrate --ledger station.db --json',
  ]);
  migrate.action(async (options: LedgerMigrateOptions) => {
    const { runLedgerMigrate } = await import('../ledger-migrate.js');
    await runLedgerMigrate(options, io);
  });
}
