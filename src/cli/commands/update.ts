/**
 * `at-pki update --port URL <partition> [source]`: generate → validate → compare → erase → write →
 * read back → report. The command people run by hand and factories script.
 */
import { Option, type Command } from 'commander';
import { errorFromRecord, UsageError } from '../../errors.js';
import type { BinSource, PreparedBin } from '../../flash/bin-source.js';
import type { MfgUpdateReport } from '../../flash/mfg-update.js';
import type { CredentialsUpdate } from '../../flash/update-credentials.js';
import type { JobSource } from '../../station/api-types.js';
import { addDeviceOptions, type DeviceOptions } from '../device-options.js';
import type { CliIo } from '../io.js';
import { addExamples, printResult } from '../output.js';
import { describePartitionUpdate } from '../write-report.js';

interface UpdateOptions extends DeviceOptions {
  bin?: string;
  from?: string;
  force?: boolean;
  anyPartition?: boolean;
  validate: boolean;
  /** Submit to this running daemon instead of opening the port (then --port is the daemon's port name). */
  daemon?: string;
  token?: string;
  /** Write a whole NVS partition image (nvs-update.ts); implied for mfg_nvs. */
  wholePartition?: boolean;
  restart?: boolean;
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
    .option('--any-partition', 'also write a PKI bin into a partition that is not a credential partition (fatfs, factory_param...)')
    .option('--whole-partition', 'write a whole NVS partition image (--bin IMAGE, or --from RAW_DATA built as mfg_nvs); implied for mfg_nvs')
    .option('--restart', 'after a whole-partition NVS write, restart the module (AT+RST) and wait for ready')
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

Only credential partitions are written: ESP-AT's PKI partitions (type 0x40, named <feature>_cert,
_key or _ca), esp_secure_cert (type 0x3F) and mfg_nvs as an NVS image (below). Anything else
(fatfs, factory_param, ble_data) is refused with exit 2 unless --any-partition is given; 'write'
writes raw bytes.

Whole NVS partition (<partition> mfg_nvs, or any NVS partition with --whole-partition):
  --bin IMAGE            an NVS image ('at-pki generate --format mfg-nvs' or nvs_partition_gen.py),
                         checked to decode without errors
  --from RAW_DATA        ESP-AT's raw_data folder, built as 'generate --format mfg-nvs' does, sized
                         to the module's partition
  The partition is compared, erased, written and read back like any other; the rest of it ends up
  erased. The module keeps the values it loaded at boot until it restarts: --restart sends AT+RST
  and waits for ready.

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
    'at-pki update --port /dev/ttyUSB0 mfg_nvs --bin mfg_nvs.bin --restart',
  ]);
  command.action(async (label: string, items: string[], options: UpdateOptions) => {
    if (label === 'mfg_nvs' || options.wholePartition) return (await import('../nvs-update.js')).runNvsUpdate(io, label, items, options);
    if (options.restart) throw new UsageError('--restart is for whole-partition NVS updates (mfg_nvs, --whole-partition)');
    const [{ checkImageFormatFor, checkItemTypesFor }, { prepareBinForCli }] = await Promise.all([import('../../flash/bin-source.js'), import('../prepare-bin.js')]);
    const source = await sourceOf(label, items, options);
    const prepared = await prepareBinForCli(io, source, options.validate);
    checkImageFormatFor(label, prepared.format);
    if (options.validate && prepared.format === 'atpki') checkItemTypesFor(label, prepared.items);
    const outcome = options.daemon
      ? await submitToDaemon(io, options, label, source, prepared)
      : await localUpdate(io, options, label, prepared);
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
      // The same words as printed on stderr (and as the daemon's result carries them).
      warnings: [...prepared.notes, ...(prepared.validation?.warnings.map((finding) => finding.message) ?? [])],
    });
  });
}

async function localUpdate(io: CliIo, options: UpdateOptions, label: string, prepared: PreparedBin): Promise<CredentialsUpdate> {
  const [{ runOperation }, { updateCredentials }] = await Promise.all([import('../operation-runner.js'), import('../../flash/update-credentials.js')]);
  return runOperation(io, { name: 'update', partition: label }, options, ({ module, emit, signal }) =>
    updateCredentials(module, label, prepared, { signal, onEvent: emit, force: options.force, anyPartition: options.anyPartition }),
  );
}

/**
 * The same update through a running daemon, which owns the port: the bin is built and validated here,
 * sent inline, and the daemon's event stream is shown exactly like local progress.
 */
async function submitToDaemon(io: CliIo, options: UpdateOptions, label: string, source: BinSource, prepared: PreparedBin): Promise<CredentialsUpdate> {
  if (prepared.format === 'esp-secure-cert') {
    throw new UsageError("esp_secure_cert images go to a daemon as a file source (POST /jobs with source kind 'bin'); --daemon sends PKI credentials only");
  }
  const [{ humanReporter, jsonReporter }, { StationClient }] = await Promise.all([import('../progress-reporter.js'), import('../../station/client.js')]);
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
      {
        type: 'update',
        port: options.port,
        partition: label,
        source: jobSource,
        force: options.force ?? false,
        validate: options.validate,
        ...(options.anyPartition ? { anyPartition: true } : {}),
      },
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

function describeMfgUpdate(report: MfgUpdateReport): string {
  const written = report.keys.filter((k) => k.written).map((k) => k.key);
  const removed = report.removed.length ? `; erased stale ${report.removed.join(', ')}` : '';
  if (report.unchanged) return `mfg_nvs namespace ${report.namespace} already holds these ${report.keys.length} value(s): nothing written`;
  return `wrote ${written.join(', ')} in mfg_nvs namespace ${report.namespace} (${report.bytesWritten} bytes)${removed}; verified by reading back`;
}

export async function sourceOf(label: string, items: readonly string[], options: { bin?: string; from?: string }): Promise<BinSource> {
  const given = [options.bin !== undefined, options.from !== undefined, items.length > 0].filter(Boolean).length;
  if (given > 1) throw new UsageError('give one source: --bin FILE, --from DIR, or <type> <file> pairs');
  if (options.bin !== undefined) return { kind: 'bin', path: options.bin };
  if (items.length > 0) return { kind: 'files', files: (await import('../../flash/credential-files.js')).parseCredentialPairs(items) };
  return { kind: 'dir', root: options.from ?? 'raw_data', partition: label };
}
