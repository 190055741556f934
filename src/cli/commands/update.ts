/**
 * `at-pki update --port URL <partition> [source]`: generate → validate → compare → erase → write →
 * read back → report. The command people run by hand and factories script.
 */
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import type { BinSource } from '../../flash/bin-source.js';
import { parseCredentialPairs } from '../../flash/credential-files.js';
import { updatePartition } from '../../flash/update.js';
import { addDeviceOptions, type DeviceOptions } from '../device-options.js';
import type { CliIo } from '../io.js';
import { runOperation } from '../operation-runner.js';
import { addExamples, printResult } from '../output.js';
import { prepareBinForCli } from '../prepare-bin.js';
import { describeWrite } from '../write-report.js';

interface UpdateOptions extends DeviceOptions {
  bin?: string;
  from?: string;
  force?: boolean;
  validate: boolean;
}

export function registerUpdate(program: Command, io: CliIo): void {
  const command = program
    .command('update')
    .summary('put credentials into a partition, verified (skips work the module already has)')
    .description(
      'Put credentials into a partition: build the bin (or take --bin), validate it, check it fits, compare with what the module ' +
        'holds (nothing is written if it already holds exactly this bin), erase only the sectors that change, write, read back and ' +
        'compare. Success is only reported after the read-back matched. Afterwards the partition holds exactly the bin followed by 0xFF.',
    )
    .usage('[options] <partition> [--bin FILE | --from DIR | <type> <file> ...]')
    .argument('<partition>', 'partition label: client_cert, client_key, client_ca, mqtt_cert...')
    .argument('[items...]', '<type> <file> pairs (type: ca, cert or key)')
    .option('--bin <file>', 'write this ready-made PKI bin')
    .option('--from <dir>', 'take the files of <dir>/<partition>/ (default when no source is given: ./raw_data)')
    .option('-f, --force', 'erase and rewrite even if the module already holds this bin')
    .option('--no-validate', 'skip certificate/key validation');
  addDeviceOptions(command);
  command.addHelpText(
    'after',
    `
Sources (one of):
  --bin FILE             a PKI bin made by 'at-pki generate' or AtPKI.py (checked to be well-formed)
  --from DIR             the files of DIR/<partition>/, sorted by name, typed by the partition name
  <type> <file> ...      as for 'at-pki generate'
  (none)                 the files of ./raw_data/<partition>/, ESP-AT's build convention

If the module stops answering while data is being sent, the write is topped up with 0xFF (harmless
on flash), the affected sector is erased and written again, and everything is verified. A failure
says what state the module was left in.`,
  );
  addExamples(command, [
    'at-pki update --port /dev/ttyUSB0 client_cert',
    'at-pki update --port /dev/ttyUSB0 client_cert --bin client_cert.bin',
    'at-pki update --port /dev/ttyUSB0 client_key key device.key',
    'at-pki update --port mock://esp32c3 client_ca --from raw_data --json',
  ]);
  command.action(async (label: string, items: string[], options: UpdateOptions) => {
    const source = sourceOf(label, items, options);
    const prepared = await prepareBinForCli(io, source, options.validate);
    const report = await runOperation(io, { name: 'update', partition: label }, options, ({ module, emit, signal }) =>
      updatePartition(module, label, prepared.bin, { signal, onEvent: emit, force: options.force }),
    );
    const what = `${prepared.bin.length}-byte bin (${prepared.items.length} item${prepared.items.length === 1 ? '' : 's'})`;
    printResult(io, options.json, `${describeWrite(report, `the ${what}`)} in ${(report.durationMs / 1000).toFixed(1)} s`, {
      ...report,
      binBytes: prepared.bin.length,
      items: prepared.items.length,
      warnings: prepared.validation?.warnings ?? [],
    });
  });
}

function sourceOf(label: string, items: readonly string[], options: UpdateOptions): BinSource {
  const given = [options.bin !== undefined, options.from !== undefined, items.length > 0].filter(Boolean).length;
  if (given > 1) throw new UsageError('give one source: --bin FILE, --from DIR, or <type> <file> pairs');
  if (options.bin !== undefined) return { kind: 'bin', path: options.bin };
  if (items.length > 0) return { kind: 'files', files: parseCredentialPairs(items) };
  return { kind: 'dir', root: options.from ?? 'raw_data', partition: label };
}
