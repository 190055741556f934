/** `at-pki ledger migrate`: apply missing schema migrations (PostgreSQL) or report the version (SQLite). */
import type { LedgerMigrateOptions } from './commands/ledger.js';
import type { CliIo } from './io.js';
import { ledgerOpenOptions } from './ledger-options.js';
import { printResult } from './output.js';

export async function runLedgerMigrate(options: LedgerMigrateOptions, io: CliIo): Promise<void> {
  const spec = options.ledger;
  const { isPostgresSpec, openLedger } = await import('../station/ledger/open-ledger.js');
  if (isPostgresSpec(spec)) {
    const [{ PostgresLedger }, { ledgerPassword }] = await Promise.all([import('../station/ledger/postgres-ledger.js'), import('../station/ledger/postgres-url.js')]);
    const password = ledgerPassword({ ...ledgerOpenOptions(options), env: io.env });
    const { from, to } = await PostgresLedger.migrate(spec, password === undefined ? {} : { password });
    const human = from === to ? `${spec}: schema already at version ${to}` : `${spec}: schema migrated from version ${from} to ${to}`;
    printResult(io, options.json, human, { backend: 'postgres', ledger: spec, from, to, migrated: to - from });
    return;
  }
  const { SQLITE_SCHEMA_VERSION } = await import('../station/ledger/sqlite-ledger.js');
  const ledger = await openLedger(spec, ledgerOpenOptions(options));
  await ledger.close();
  printResult(io, options.json, `${spec}: SQLite ledger at schema version ${SQLITE_SCHEMA_VERSION} (SQLite ledgers migrate when opened)`, {
    backend: 'sqlite',
    ledger: spec,
    to: SQLITE_SCHEMA_VERSION,
  });
}
