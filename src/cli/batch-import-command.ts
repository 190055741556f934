/** `at-pki batch import` at work: read and validate every set, then store the batch in one transaction. */
import { openLedger } from '../station/ledger/open-ledger.js';
import { defaultStationName } from '../station/ledger/ledger-context.js';
import { importBatchDir } from '../station/provision/batch-import.js';
import type { BatchImportOptions } from './commands/batch.js';
import type { CliIo } from './io.js';
import { ledgerOpenOptions } from './ledger-options.js';
import { printResult } from './output.js';

export async function runBatchImport(io: CliIo, dir: string, options: BatchImportOptions): Promise<void> {
  const ledger = await openLedger(options.ledger, ledgerOpenOptions(options));
  try {
    const summary = await importBatchDir(ledger, options.batch, dir, { station: options.station ?? defaultStationName() });
    printResult(io, options.json, `imported batch ${summary.name}: ${summary.total} set${summary.total === 1 ? '' : 's'} from ${summary.source} into ${ledger.location}`, {
      batch: summary.name,
      sets: summary.total,
      source: summary.source,
      ledger: ledger.location,
    });
  } finally {
    await ledger.close();
  }
}
