/**
 * `at-pki update --port URL <partition> [source]`: generate → validate → compare → erase → write →
 * read back → report. The command people run by hand and factories script.
 */
import { Option, type Command } from 'commander';
import { errorFromRecord, UsageError } from '../../errors.js';
import { checkImageFormatFor, checkItemTypesFor, type BinSource, type PreparedBin } from '../../flash/bin-source.js';
import type { MfgUpdateReport } from '../../flash/mfg-update.js';
import type { UpdateReport } from '../../flash/update.js';
import { parseCredentialPairs } from '../../flash/credential-files.js';
import { updateCredentials, type CredentialsUpdate } from '../../flash/update-credentials.js';
import type { JobSource } from '../../station/api-types.js';
import { StationClient } from '../../station/client.js';
import { addDeviceOptions, type DeviceOptions } from '../device-options.js';
import type { CliIo } from '../io.js';
import { runOperation } from '../operation-runner.js';
import { addExamples, printResult } from '../output.js';
import { prepareBinForCli } from '../prepare-bin.js';
import { humanReporter, jsonReporter } from '../progress-reporter.js';
import { describeWrite } from '../write-report.js';

interface UpdateOptions extends DeviceOptions {
  bin?: string;
  from?: string;
  force?: boolean;
  validate: boolean;
  /** Submit to this running daemon instead of opening the port (then --port is the daemon's port name). */
  daemon?: string;
  token?: string;
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
    .option('--no-validate', 'skip certificate/key validation')
    .addOption(new Option('-d, --daemon <address>', "submit the job to a running 'at-pki daemon' (its socket path or http://127.0.0.1:PORT); --port is then one of its port names").env('AT_PKI_DAEMON'))
    .addOption(new Option('--token <token>', 'bearer token for a daemon on TCP').env('AT_PKI_TOKEN'));
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
    'at-pki update --daemon /run/at-pki/api.sock --port bay1 client_cert --from raw_data',
  ]);
  command.action(async (label: string, items: string[], options: UpdateOptions) => {
    const source = sourceOf(label, items, options);
    const prepared = await prepareBinForCli(io, source, options.validate);
    checkImageFormatFor(label, prepared.format);
    if (options.validate && prepared.format === 'atpki') checkItemTypesFor(label, prepared.items);
    const outcome = options.daemon
      ? await submitToDaemon(io, options, label, source, prepared)
      : await runOperation(io, { name: 'update', partition: label }, options, ({ module, emit, signal }) =>
          updateCredentials(module, label, prepared, { signal, onEvent: emit, force: options.force }),
        );
    const count = `${prepared.items.length} item${prepared.items.length === 1 ? '' : 's'}`;
    const seconds = `${(outcome.report.durationMs / 1000).toFixed(1)} s`;
    const human =
      outcome.storage === 'mfg_nvs'
        ? `${describeMfgUpdate(outcome.report)} in ${seconds}`
        : `${describePartitionUpdate(outcome.report, `the ${prepared.bin.length}-byte ${prepared.format === 'esp-secure-cert' ? 'esp_secure_cert image' : 'bin'} (${count})`)} in ${seconds}`;
    printResult(io, options.json, human, {
      storage: outcome.storage,
      ...outcome.report,
      binBytes: prepared.bin.length,
      items: prepared.items.length,
      warnings: prepared.validation?.warnings ?? [],
    });
  });
}

/**
 * The same update through a running daemon, which owns the port: the bin is built and validated here,
 * sent inline, and the daemon's event stream is shown exactly like local progress.
 */
async function submitToDaemon(io: CliIo, options: UpdateOptions, label: string, source: BinSource, prepared: PreparedBin): Promise<CredentialsUpdate> {
  if (prepared.format === 'esp-secure-cert') {
    throw new UsageError("esp_secure_cert images go to a daemon as a file source (POST /jobs with source kind 'bin'); --daemon sends PKI credentials only");
  }
  const reporter = options.json ? jsonReporter(io) : humanReporter(io);
  const client = new StationClient({ daemon: options.daemon!, token: options.token });
  const controller = new AbortController();
  const onSignal = (): void => controller.abort(new Error('interrupted (Ctrl-C); the job goes on in the daemon'));
  process.once('SIGINT', onSignal);
  try {
    const jobSource: JobSource =
      source.kind === 'bin'
        ? { kind: 'inline-bin', base64: prepared.bin.toString('base64') }
        : { kind: 'items', items: prepared.items.map((item) => ({ type: item.type, base64: Buffer.from(item.content).toString('base64') })) };
    const { id, end } = await client.runJob(
      { type: 'update', port: options.port, partition: label, source: jobSource, force: options.force ?? false, validate: options.validate },
      (event) => {
        // The end record is printed below, as for a local update.
        if (event.type === 'progress' || event.type === 'log') reporter.event(event);
        else if (event.type === 'begin' && options.json) io.stdout(`${JSON.stringify(event)}\n`);
      },
      { signal: controller.signal },
    );
    if (!end.ok) {
      const error = errorFromRecord(end.error);
      error.message = `daemon job ${id}: ${error.message}`;
      throw error;
    }
    // The daemon's result is the same report, with the storage mode beside it.
    return { storage: end.result.storage, report: end.result } as unknown as CredentialsUpdate;
  } finally {
    reporter.stop();
    process.off('SIGINT', onSignal);
  }
}

/** The write's line, then how the whole partition was proven to hold exactly the bin and 0xFF. */
function describePartitionUpdate(report: UpdateReport, what: string): string {
  const line =
    report.bytesWritten === 0 && !report.unchanged
      ? `${report.partition} already holds ${what}: nothing written, ${report.erasedSectors} sector(s) after it erased`
      : describeWrite(report, what);
  return `${line}; whole partition checked: ${report.exactness}`;
}

function describeMfgUpdate(report: MfgUpdateReport): string {
  const written = report.keys.filter((k) => k.written).map((k) => k.key);
  const removed = report.removed.length ? `; erased stale ${report.removed.join(', ')}` : '';
  if (report.unchanged) return `mfg_nvs namespace ${report.namespace} already holds these ${report.keys.length} value(s): nothing written`;
  return `wrote ${written.join(', ')} in mfg_nvs namespace ${report.namespace} (${report.bytesWritten} bytes)${removed}; verified by reading back`;
}

export function sourceOf(label: string, items: readonly string[], options: { bin?: string; from?: string }): BinSource {
  const given = [options.bin !== undefined, options.from !== undefined, items.length > 0].filter(Boolean).length;
  if (given > 1) throw new UsageError('give one source: --bin FILE, --from DIR, or <type> <file> pairs');
  if (options.bin !== undefined) return { kind: 'bin', path: options.bin };
  if (items.length > 0) return { kind: 'files', files: parseCredentialPairs(items) };
  return { kind: 'dir', root: options.from ?? 'raw_data', partition: label };
}
