/**
 * `at-pki update --port URL <partition> [source]`: generate → validate → compare → erase → write →
 * read back → report. The command people run by hand and factories script.
 */
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { checkImageFormatFor, checkItemTypesFor, type BinSource } from '../../flash/bin-source.js';
import type { MfgUpdateReport } from '../../flash/mfg-update.js';
import { parseCredentialPairs } from '../../flash/credential-files.js';
import { updateCredentials } from '../../flash/update-credentials.js';
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
ESP-AT 3.1 and later keep credentials in the mfg_nvs partition: there <partition> is the namespace
(client_cert, client_key, client_ca, mqtt_cert...). Each item becomes a binary key, <ns>.0, <ns>.1...
(or the key <ns> for single-value namespaces such as mqtt_cert), stale higher-numbered keys of an
earlier set are erased, values already there are not rewritten, and every written key is read back.
The mode is detected from the module (an mfg_nvs partition and an answer to AT+SYSMFG?).

Sources (one of):
  --bin FILE             a PKI bin made by 'at-pki generate' or AtPKI.py (checked to be well-formed), or
                         for the esp_secure_cert partition an image made by 'generate --format esp-secure-cert'
                         or configure_esp_secure_cert.py (every CRC and the integrity hash are checked)
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
    checkImageFormatFor(label, prepared.format);
    if (options.validate && prepared.format === 'atpki') checkItemTypesFor(label, prepared.items);
    const outcome = await runOperation(io, { name: 'update', partition: label }, options, ({ module, emit, signal }) =>
      updateCredentials(module, label, prepared, { signal, onEvent: emit, force: options.force }),
    );
    const count = `${prepared.items.length} item${prepared.items.length === 1 ? '' : 's'}`;
    const seconds = `${(outcome.report.durationMs / 1000).toFixed(1)} s`;
    const human =
      outcome.storage === 'mfg_nvs'
        ? `${describeMfgUpdate(outcome.report)} in ${seconds}`
        : `${describeWrite(outcome.report, `the ${prepared.bin.length}-byte ${prepared.format === 'esp-secure-cert' ? 'esp_secure_cert image' : 'bin'} (${count})`)} in ${seconds}`;
    printResult(io, options.json, human, {
      storage: outcome.storage,
      ...outcome.report,
      binBytes: prepared.bin.length,
      items: prepared.items.length,
      warnings: prepared.validation?.warnings ?? [],
    });
  });
}

function describeMfgUpdate(report: MfgUpdateReport): string {
  const written = report.keys.filter((k) => k.written).map((k) => k.key);
  const removed = report.removed.length ? `; erased stale ${report.removed.join(', ')}` : '';
  if (report.unchanged) return `mfg_nvs namespace ${report.namespace} already holds these ${report.keys.length} value(s): nothing written`;
  return `wrote ${written.join(', ')} in mfg_nvs namespace ${report.namespace} (${report.bytesWritten} bytes)${removed}; verified by reading back`;
}

function sourceOf(label: string, items: readonly string[], options: UpdateOptions): BinSource {
  const given = [options.bin !== undefined, options.from !== undefined, items.length > 0].filter(Boolean).length;
  if (given > 1) throw new UsageError('give one source: --bin FILE, --from DIR, or <type> <file> pairs');
  if (options.bin !== undefined) return { kind: 'bin', path: options.bin };
  if (items.length > 0) return { kind: 'files', files: parseCredentialPairs(items) };
  return { kind: 'dir', root: options.from ?? 'raw_data', partition: label };
}
