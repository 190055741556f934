/**
 * `at-pki generate --format nvs|mfg-nvs`: an NVS partition image from nvs_partition_gen.py's CSV, or
 * ESP-AT's mfg_nvs partition from its raw_data folder. The image is decoded again before it is
 * written: at-pki never writes a file it cannot read back.
 */
import { basename, dirname, extname, isAbsolute, join } from 'node:path';
import { InputError, UsageError } from '../errors.js';
import { readRegularFile } from '../flash/regular-file.js';
import { validationFailure } from '../flash/bin-source.js';
import { buildMfgNvsImage, DEFAULT_MFG_NVS_SIZE, readMfgRawData, type FactoryParamRows } from '../flash/mfg-nvs-image.js';
import { parseNvsCsv, type NvsCsvRow } from '../pki/nvs/csv.js';
import { buildNvsFromCsv, csvFilePaths } from '../pki/nvs/csv-image.js';
import { decodeNvs, type DecodedNvs } from '../pki/nvs/decoder.js';
import { checkNvsSize, type WrittenItem } from '../pki/nvs/encoder.js';
import type { NvsFormatVersion } from '../pki/nvs/page-header.js';
import { describeNvsValue } from '../pki/nvs/value-info.js';
import type { PkiItem } from '../pki/types.js';
import { credentialGroupOf, validateCredentialGroups } from './nvs-validation.js';
import type { CliIo } from './io.js';
import type { NvsGenerateOptions } from './nvs-options.js';
import { printResult, printWarnings, PROGRAM_NAME, type JsonOption } from './output.js';
import { formatTable } from './table.js';
import { writeFileAtomic } from './write-file-atomic.js';

export interface NvsGenerateRunOptions extends NvsGenerateOptions, JsonOption {
  format: 'nvs' | 'mfg-nvs';
  output?: string;
  from?: string;
  partitionSize?: string;
  validate: boolean;
}

/** Largest file a CSV row may name: a version-2 blob spans at most 255 chunks of one page. */
const MAX_ROW_FILE_BYTES = 1024 * 1024;

export async function runNvsGenerate(io: CliIo, args: readonly string[], options: NvsGenerateRunOptions): Promise<void> {
  if (args.length > 0) throw new UsageError(`--format ${options.format} takes no <type> <file> pairs (got ${args.join(' ')})`);
  if (options.partitionSize !== undefined) throw new UsageError('--partition-size is for --format atpki; NVS images take --size');
  const version = (options.nvsVersion === undefined ? 2 : Number(options.nvsVersion)) as NvsFormatVersion;
  let image: Buffer;
  let written: WrittenItem[];
  let output: string;
  const notes: string[] = [];
  if (options.format === 'nvs') {
    if (options.from !== undefined) throw new UsageError('--from is for --format mfg-nvs (or atpki); --format nvs takes --csv');
    if (options.factoryParam !== undefined) throw new UsageError('--factory-param is for --format mfg-nvs');
    if (options.csv === undefined) throw new UsageError('--format nvs needs --csv FILE.csv');
    if (options.size === undefined) throw new UsageError('--format nvs needs --size BYTES (the partition size, a multiple of 4096)');
    const size = checkNvsSize(parseSize(options.size)).bytes;
    const { rows, files } = await readCsv(options.csv);
    const built = buildNvsFromCsv(rows, { size, version, files, source: options.csv });
    ({ image, written } = built);
    notes.push(...built.notes);
    if (built.readOnly) notes.push(`${image.length} bytes: partitions under 0x3000 bytes are read-only NVS (no free page; flag the partition readonly in the partition table)`);
    output = options.output ?? `${basename(options.csv, extname(options.csv))}.bin`;
  } else {
    if (options.csv !== undefined) throw new UsageError('--csv is for --format nvs');
    if (options.from === undefined) throw new UsageError('--format mfg-nvs needs --from RAW_DATA (ESP-AT\'s raw_data folder)');
    const size = options.size === undefined ? DEFAULT_MFG_NVS_SIZE : checkNvsSize(parseSize(options.size)).bytes;
    const raw = await readMfgRawData(options.from);
    notes.push(...raw.notes, ...raw.ignored.map((path) => `ignored ${path}: not a PKI namespace folder or file`));
    if (options.validate) validateRawDataGroups(io, raw.namespaces);
    const factoryParam = options.factoryParam === undefined ? undefined : await readFactoryParam(options.factoryParam);
    ({ image, written } = buildMfgNvsImage(raw.namespaces, { size, version, ...(factoryParam ? { factoryParam } : {}) }));
    output = options.output ?? 'mfg_nvs.bin';
  }
  printWarnings(io, notes);

  const decoded = decodeNvs(image);
  if (!decoded.valid) throw new Error(`the built NVS image does not decode cleanly: ${decoded.problems[0]?.message ?? '?'}`);
  const holdsKey = decoded.items.some((item) => ['private-key', 'encrypted-private-key', 'withheld'].includes(describeNvsValue(item).kind));
  await writeFileAtomic(output, image, { mode: holdsKey ? 0o600 : 0o644 });

  const keys = written.filter((item) => item.type !== 'namespace');
  const pagesUsed = usedPages(decoded);
  const table = formatTable(
    [{ header: 'NAMESPACE' }, { header: 'KEY' }, { header: 'TYPE' }, { header: 'SIZE', right: true }, { header: 'PAGE', right: true }, { header: 'ENTRY', right: true }],
    keys.map((item) => [item.namespace, item.key, item.type === 'blob' && item.chunks !== undefined ? `blob (${item.chunks} chunk${item.chunks === 1 ? '' : 's'})` : item.type, String(item.size), String(item.page), String(item.entry)]),
  );
  const human = `wrote ${output}: ${image.length} bytes, NVS version ${version}, ${pagesUsed} of ${image.length / 4096} pages used, ${keys.length} key${keys.length === 1 ? '' : 's'} in ${new Set(keys.map((k) => k.namespace)).size} namespace(s)\n${table}`;
  printResult(io, options.json, human, {
    output,
    format: options.format,
    size: image.length,
    version,
    pagesUsed,
    items: keys.map(({ namespace, key, type, size, page, entry, chunks }) => ({ namespace, key, type, size, page, entry, ...(chunks === undefined ? {} : { chunks }) })),
    notes,
  });
}

function usedPages(decoded: DecodedNvs): number {
  return decoded.pages.filter((page) => page.state !== 'blank').length;
}

/** Bytes: decimal or 0x hex, a multiple of 4096 (checked by the encoder). */
function parseSize(value: string): number {
  const match = /^(?:0x([0-9a-f]+)|([0-9]+))$/i.exec(value.trim());
  const bytes = match === null ? NaN : match[1] !== undefined ? parseInt(match[1], 16) : Number(match[2]);
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw new InputError(`bad --size '${value}': give bytes, in decimal or 0x hex (0x1C000)`, { details: { value } });
  return bytes;
}

async function readCsv(path: string): Promise<{ rows: NvsCsvRow[]; files: Map<string, Buffer> }> {
  const text = (await readRegularFile(path, { maxBytes: 16 * 1024 * 1024, tooLarge: 'too large for an NVS CSV' })).toString('utf8');
  const rows = parseNvsCsv(text, path);
  const files = new Map<string, Buffer>();
  for (const file of csvFilePaths(rows)) {
    const resolved = isAbsolute(file) ? file : join(dirname(path), file);
    const line = rows.find((row) => row.type === 'file' && row.value === file)!.line;
    try {
      files.set(file, await readRegularFile(resolved, { maxBytes: MAX_ROW_FILE_BYTES, tooLarge: 'larger than any NVS partition value' }));
    } catch (error) {
      if (error instanceof InputError) throw new InputError(`${path} line ${line}: ${error.message}`, { cause: error, details: { ...error.details, line } });
      throw error;
    }
  }
  return { rows, files };
}

async function readFactoryParam(path: string): Promise<FactoryParamRows> {
  const { rows, files } = await readCsv(path);
  return { source: path, rows, files };
}

/** Validate each group of namespaces the firmware uses together (client_cert + client_key + client_ca, server_*…). */
export function validateRawDataGroups(io: CliIo, namespaces: Awaited<ReturnType<typeof readMfgRawData>>['namespaces']): void {
  const groups = new Map<string, PkiItem[]>();
  for (const ns of namespaces) {
    const group = credentialGroupOf(ns.namespace);
    groups.set(group, [...(groups.get(group) ?? []), ...ns.items]);
  }
  const { errors, warnings } = validateCredentialGroups(groups.values());
  if (errors.length > 1) for (const finding of errors) io.stderr(`${PROGRAM_NAME}: error: ${finding.message}\n`);
  if (errors.length === 1) throw validationFailure(errors, warnings);
  if (errors.length > 1) throw new InputError(`validation failed with ${errors.length} errors (listed above; --no-validate writes the image anyway)`, { details: { errors, warnings } });
  printWarnings(io, warnings.map((finding) => finding.message));
}
