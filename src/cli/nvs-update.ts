/**
 * `at-pki update --port P mfg_nvs --bin mfg_nvs.bin` (or `--from RAW_DATA`, or any NVS partition with
 * `--whole-partition`): the whole NVS partition written at once, verified, and the module restarted
 * when asked (`--restart`): until it restarts it keeps using the values it loaded at boot.
 */
import { InputError, UsageError } from '../errors.js';
import { readBinFile } from '../flash/bin-file.js';
import { buildMfgNvsImage, readMfgRawData } from '../flash/mfg-nvs-image.js';
import { updateNvsPartition } from '../flash/nvs-partition-update.js';
import { isNvsFormat } from '../pki/detect-format.js';
import type { DeviceOptions } from './device-options.js';
import type { CliIo } from './io.js';
import { validateRawDataGroups } from './nvs-generate.js';
import { runOperation } from './operation-runner.js';
import { printResult, printWarnings } from './output.js';
import { describePartitionUpdate } from './write-report.js';

export interface NvsUpdateOptions extends DeviceOptions {
  bin?: string;
  from?: string;
  force?: boolean;
  validate: boolean;
  daemon?: string;
  restart?: boolean;
}

export async function runNvsUpdate(io: CliIo, label: string, items: readonly string[], options: NvsUpdateOptions): Promise<void> {
  if (items.length > 0) throw new UsageError(`${label} is written whole: give --bin IMAGE or --from RAW_DATA, not <type> <file> pairs`);
  if (options.bin !== undefined && options.from !== undefined) throw new UsageError('give one source: --bin IMAGE or --from RAW_DATA');
  if (options.daemon !== undefined) throw new UsageError('whole NVS partitions are written directly (--port), not through a daemon');
  let image: Buffer | undefined;
  let raw: Awaited<ReturnType<typeof readMfgRawData>> | undefined;
  if (options.bin !== undefined) {
    const file = await readBinFile(options.bin);
    if (!isNvsFormat(file.format.format)) {
      throw new InputError(`${options.bin}: not an NVS partition image but ${file.format.description}; ${label} takes a whole NVS image (at-pki generate --format mfg-nvs or nvs)`, { details: { path: options.bin, deviceState: 'unchanged' } });
    }
    image = file.bytes;
  } else {
    const root = options.from ?? 'raw_data';
    raw = await readMfgRawData(root);
    printWarnings(io, [...raw.notes, ...raw.ignored.map((path) => `ignored ${path}: not a PKI namespace folder or file`)]);
    if (options.validate) validateRawDataGroups(io, raw.namespaces);
  }
  const name = options.bin ?? 'the image built from raw_data';
  const report = await runOperation(io, { name: 'update', partition: label }, options, async ({ module, emit, signal }) => {
    // Built for the module's partition size, so the NVS library sees every page of it.
    const bytes = image ?? buildMfgNvsImage(raw!.namespaces, { size: (await module.partition(label, { signal })).size }).image;
    return updateNvsPartition(module, label, bytes, { signal, onEvent: emit, force: options.force, restart: options.restart, name });
  });
  const seconds = `${(report.durationMs / 1000).toFixed(1)} s`;
  const what = `the ${report.length}-byte NVS image (${report.keys} key${report.keys === 1 ? '' : 's'})`;
  const restart = report.restarted
    ? '; module restarted (AT+RST, ready): it now uses the new values'
    : '. The module keeps the values it loaded at boot until it restarts: send AT+RST (or run again with --restart)';
  printResult(io, options.json, `${describePartitionUpdate(report, what)} in ${seconds}${restart}`, { storage: 'nvs-partition', ...report });
}
