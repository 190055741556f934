/** `at-pki batch import`: load a folder of ready-made credential sets into a station ledger. Registration only; the work is loaded when it runs. */
import type { Command } from 'commander';
import type { CliIo } from '../io.js';
import { addLedgerOptions, LEDGER_HELP, type LedgerOptions } from '../ledger-options.js';
import { addExamples, addJsonOption, type JsonOption } from '../output.js';

export interface BatchImportOptions extends LedgerOptions, JsonOption {
  batch: string;
}

export function registerBatch(program: Command, io: CliIo): void {
  const batch = program.command('batch').summary('credential batches for the factory station (import)').description('Credential batches for the factory station.');
  const command = batch
    .command('import')
    .summary('import a folder of credential sets into the ledger')
    .description(
      'Import a batch of ready-made credential sets: every folder below <dir> is one set, named by its folder, in ESP-AT\'s raw_data ' +
        'layout (<dir>/<set>/client_cert/…, client_key/…, client_ca/…, any credential namespace). Every set is validated first ' +
        '(items parse, key matches certificate, certificates chain to a CA of the set when it has one, each target fits its ' +
        'partition and the 8,191-byte SYSMFG value limit). A set whose certificate is already in the ledger (any batch) refuses ' +
        'the whole import: nothing is imported. The ledger keeps the public parts and file fingerprints; the files stay in <dir> ' +
        'and are read again (and checked unchanged) when a unit is provisioned.',
    )
    .argument('<dir>', 'the batch folder: one sub-folder per set')
    .requiredOption('--batch <name>', 'the batch name (letters, digits, _ . : -)');
  addLedgerOptions(command);
  addJsonOption(command);
  command.addHelpText('after', LEDGER_HELP);
  addExamples(command, ['at-pki batch import --ledger station.db --batch 2026-11-lot7 ./lot7', 'at-pki batch import --ledger station.db --batch lot8 ./lot8 --json']);
  command.action(async (dir: string, options: BatchImportOptions) => {
    const { runBatchImport } = await import('../batch-import-command.js');
    await runBatchImport(io, dir, options);
  });
}
