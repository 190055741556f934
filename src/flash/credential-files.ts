/**
 * Where credentials come from on the host: `<type> <file>` pairs (as AtPKI.py takes them) or the
 * ESP-AT build convention `raw_data/<partition>/`. Also the sizes of the known PKI partitions, to
 * check that a bin fits. File I/O only; no device code.
 */
import { join } from 'node:path';
import { InputError, UsageError } from '../errors.js';
import { PKI_MAX_CONTENT_LENGTH } from '../pki/bin-format.js';
import { parsePkiType, pkiTypeOfPartition, type PkiItem, type PkiType } from '../pki/types.js';
import { openDirectory } from './directory.js';
import type { FileRoots } from './file-roots.js';
import { readRegularFile } from './regular-file.js';

/** One `<type> <file>` pair from a command line. */
export interface CredentialFileSpec {
  type: PkiType;
  path: string;
}

/** Split `ca a.crt cert b.crt ...` into pairs. UsageError for an odd count, InputError for an unknown type. */
export function parseCredentialPairs(args: readonly string[]): CredentialFileSpec[] {
  if (args.length === 0) throw new UsageError('expected <type> <file> pairs, got none');
  if (args.length % 2 !== 0) {
    throw new UsageError(`expected <type> <file> pairs, got an odd number of arguments (last: '${args[args.length - 1]}')`);
  }
  const specs: CredentialFileSpec[] = [];
  for (let i = 0; i < args.length; i += 2) specs.push({ type: parsePkiType(args[i]!), path: args[i + 1]! });
  return specs;
}

/** Where and how credential files may be read (the daemon confines them to its file roots). */
export interface CredentialReadOptions {
  /** Only files that, as opened, lie below these folders. */
  within?: FileRoots;
  signal?: AbortSignal;
}

/**
 * Read one credential file into an item (`source` = the path as given). InputError, naming the
 * file, if it is missing, unreadable, not a regular file, empty, or over 65,535 bytes (checked
 * before reading it); see readRegularFile.
 */
export async function readCredentialFile(spec: CredentialFileSpec, options: CredentialReadOptions = {}): Promise<PkiItem> {
  const content = await readRegularFile(spec.path, { ...ITEM_LIMITS, ...options });
  return credentialItem(spec.type, content, spec.path);
}

const ITEM_LIMITS = { maxBytes: PKI_MAX_CONTENT_LENGTH, tooLarge: `a PKI bin item holds at most ${PKI_MAX_CONTENT_LENGTH} bytes` };

function credentialItem(type: PkiType, content: Buffer, path: string): PkiItem {
  if (content.length === 0) throw new InputError(`${path} is empty`, { details: { path } });
  return { type, content, source: path };
}

/** Read several files, in order. */
export async function readCredentialFiles(specs: readonly CredentialFileSpec[], options: CredentialReadOptions = {}): Promise<PkiItem[]> {
  const items: PkiItem[] = [];
  for (const spec of specs) items.push(await readCredentialFile(spec, options));
  return items;
}

/** File extensions the ESP-AT build scripts pick up in `raw_data/<partition>/`, per type. */
export const PARTITION_DIR_EXTENSIONS: Readonly<Record<PkiType, readonly string[]>> = {
  ca: ['.pem', '.der', '.cer', '.crt'],
  cert: ['.pem', '.der', '.cer', '.crt'],
  key: ['.pem', '.der', '.key'],
};

export interface PartitionDirCredentials {
  partition: string;
  type: PkiType;
  /** The folder read: `<root>/<partition>`. */
  dir: string;
  /** The items, from the files sorted by name. */
  items: PkiItem[];
  /** Files left out because their extension is not one the build scripts use for this type (hidden files are skipped silently). */
  ignored: string[];
}

/**
 * The ESP-AT build convention: the credential files of partition `<partition>` are the files in
 * `<root>/<partition>/` with the extensions of PARTITION_DIR_EXTENSIONS, sorted by name; their type
 * comes from the partition name's suffix (`client_cert` → cert). InputError if the name has no
 * such suffix, the folder is missing or holds no usable file.
 */
export async function readPartitionDir(root: string, partition: string, options: CredentialReadOptions = {}): Promise<PartitionDirCredentials> {
  const type = pkiTypeOfPartition(partition);
  if (type === undefined) {
    throw new InputError(`cannot tell the item type of partition '${partition}': its name must end in _ca, _cert or _key`, {
      details: { partition },
    });
  }
  // With allowed folders, the root must be below one by name too (not only the folder read).
  await options.within?.checkName(root);
  const dir = await openDirectory(join(root, partition), options);
  try {
    const visible = (await dir.names()).filter((name) => !name.startsWith('.'));
    const wanted = visible.filter((name) => PARTITION_DIR_EXTENSIONS[type].some((ext) => name.toLowerCase().endsWith(ext)));
    const ignored = visible.filter((name) => !wanted.includes(name));
    if (wanted.length === 0) {
      throw new InputError(
        `no ${type} files in ${dir.path} (looked for ${PARTITION_DIR_EXTENSIONS[type].map((ext) => `*${ext}`).join(', ')})`,
        { details: { path: dir.path } },
      );
    }
    const items: PkiItem[] = [];
    for (const name of wanted) items.push(credentialItem(type, await dir.readFile(name, { ...ITEM_LIMITS, signal: options.signal }), join(dir.path, name)));
    return { partition, type, dir: dir.path, items, ignored };
  } finally {
    await dir.close();
  }
}

/**
 * Sizes of the PKI partitions (and factory_param) in ESP-AT's default 4 MB partition tables for
 * ESP32, ESP32-C3 (v2.4.x, last legacy tables), ESP32-C2 v3.0 and ESP8266 (protocol doc §6).
 * Smaller modules differ (ESP32-C2 2 MB, ESP8266 1 MB: 4 KiB each): give those as a number.
 */
export const KNOWN_PARTITION_SIZES: Readonly<Record<string, number>> = {
  server_cert: 0x2000,
  server_key: 0x2000,
  server_ca: 0x2000,
  client_cert: 0x2000,
  client_key: 0x2000,
  client_ca: 0x2000,
  wpa2_cert: 0x2000,
  wpa2_key: 0x2000,
  wpa2_ca: 0x2000,
  mqtt_cert: 0x2000,
  mqtt_key: 0x2000,
  mqtt_ca: 0x2000,
  factory_param: 0x1000,
};

export interface PartitionSize {
  bytes: number;
  /** The partition name, when the size was given as one. */
  partition?: string;
}

/**
 * `--partition-size` values: bytes in decimal (`8192`), hex (`0x2000`) or KiB (`8K`, as partition
 * tables write it), or a name from KNOWN_PARTITION_SIZES. InputError otherwise.
 */
export function parsePartitionSize(value: string): PartitionSize {
  if (Object.hasOwn(KNOWN_PARTITION_SIZES, value)) return { bytes: KNOWN_PARTITION_SIZES[value]!, partition: value };
  const match = /^(?:0x([0-9a-f]+)|([0-9]+)(k|kib)?)$/i.exec(value.trim());
  const bytes = match === null ? NaN : match[1] !== undefined ? parseInt(match[1], 16) : Number(match[2]) * (match[3] ? 1024 : 1);
  if (!Number.isSafeInteger(bytes) || bytes <= 0) {
    throw new InputError(
      `bad partition size '${value}': give bytes (8192, 0x2000, 8K) or a partition name (${Object.keys(KNOWN_PARTITION_SIZES).join(', ')})`,
      { details: { value } },
    );
  }
  return { bytes };
}
