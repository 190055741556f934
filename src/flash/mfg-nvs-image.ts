/**
 * ESP-AT's raw_data folder → an mfg_nvs image (ESP-AT ≥ 3.1): each PKI namespace folder
 * (client_cert, client_key, client_ca, server_*, mqtt_*, wpa2_*, wss_*, https_*) becomes a namespace
 * whose files, sorted by name, are binary keys named as the firmware reads them (protocol §3.3):
 * `<ns>.0`, `<ns>.1`… for client/wss/https, the namespace name for the others. ESP-AT's own
 * mfg_nvs.py names a folder's single file after the namespace, which the firmware does not find for
 * client_*; at-pki always writes `<ns>.0`. factory_param values (the generator's CSV rows) come first.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError } from '../errors.js';
import type { NvsCsvRow } from '../pki/nvs/csv.js';
import { fileBytes, nvsValueOfRow } from '../pki/nvs/csv-image.js';
import { NvsImageBuilder, type WrittenItem } from '../pki/nvs/encoder.js';
import type { NvsFormatVersion } from '../pki/nvs/page-header.js';
import type { PkiItem } from '../pki/types.js';
import { readPartitionDir } from './credential-files.js';
import { isPkiNamespace, keysFor, MULTI_KEY_NAMESPACES } from './mfg-update.js';

/** ESP-AT's default mfg_nvs partition size (at_customize.csv, 112 KiB). */
export const DEFAULT_MFG_NVS_SIZE = 0x1c000;

export interface MfgNamespaceFiles {
  namespace: string;
  items: PkiItem[];
  keys: string[];
}

export interface MfgRawData {
  namespaces: MfgNamespaceFiles[];
  /** Files and folders left out. */
  ignored: string[];
  notes: string[];
}

/** Read every PKI namespace folder of a raw_data folder. */
export async function readMfgRawData(root: string): Promise<MfgRawData> {
  let entries: { name: string; dir: boolean }[];
  try {
    entries = (await readdir(root, { withFileTypes: true })).map((entry) => ({ name: entry.name, dir: entry.isDirectory() })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new InputError(`cannot read ${root}: ${code === 'ENOENT' ? 'no such folder' : code === 'ENOTDIR' ? 'not a folder' : String(code ?? error)}`, { cause: error, details: { path: root } });
  }
  const namespaces: MfgNamespaceFiles[] = [];
  const ignored: string[] = [];
  const notes: string[] = [];
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    if (!entry.dir || !isPkiNamespace(entry.name)) {
      ignored.push(join(root, entry.name));
      continue;
    }
    const found = await readPartitionDir(root, entry.name);
    ignored.push(...found.ignored.map((name) => join(found.dir, name)));
    const keys = keysFor(entry.name, found.items.length);
    if (found.items.length === 1 && MULTI_KEY_NAMESPACES.has(entry.name)) {
      notes.push(`${entry.name}: one file, stored as ${entry.name}.0 (the key the firmware reads; ESP-AT's mfg_nvs.py would name it ${entry.name})`);
    }
    namespaces.push({ namespace: entry.name, items: found.items, keys });
  }
  if (namespaces.length === 0) throw new InputError(`no PKI namespace folders (client_cert, client_key, client_ca, mqtt_cert…) in ${root}`, { details: { path: root } });
  return { namespaces, ignored, notes };
}

const FACTORY_PARAM = 'factory_param';

/** factory_param values, as rows of the generator's CSV (namespace rows optional) and the files they name. */
export interface FactoryParamRows {
  source: string;
  rows: readonly NvsCsvRow[];
  files: ReadonlyMap<string, Buffer>;
}

export interface MfgNvsImage {
  image: Buffer;
  written: WrittenItem[];
}

/** The image: factory_param first (if given), then the namespaces in order. */
export function buildMfgNvsImage(
  namespaces: readonly MfgNamespaceFiles[],
  options: { size?: number; version?: NvsFormatVersion; factoryParam?: FactoryParamRows } = {},
): MfgNvsImage {
  const builder = new NvsImageBuilder(options.size ?? DEFAULT_MFG_NVS_SIZE, options.version ?? 2);
  const factory = options.factoryParam;
  if (factory && factory.rows.length > 0) {
    builder.namespace(FACTORY_PARAM);
    for (const row of factory.rows) {
      try {
        if (row.type === 'namespace') {
          if (row.key !== FACTORY_PARAM) throw new InputError(`namespace ${row.key}: this file holds factory_param values only`);
          continue;
        }
        if (row.type !== 'data' && row.type !== 'file') throw new InputError(`type "${row.type}" is none of namespace, data, file`);
        builder.set(row.key, nvsValueOfRow(row, row.type === 'file' ? fileBytes(factory.files, row.value) : undefined));
      } catch (error) {
        if (error instanceof InputError) throw new InputError(`${factory.source} line ${row.line}: ${error.message}`, { cause: error, details: { ...error.details, line: row.line } });
        throw error;
      }
    }
  }
  for (const { namespace, items, keys } of namespaces) {
    builder.namespace(namespace);
    items.forEach((item, i) => builder.set(keys[i]!, { kind: 'blob', bytes: Buffer.from(item.content) }));
  }
  return { image: builder.finish(), written: builder.written };
}
