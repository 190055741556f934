/**
 * Where the bytes to put into a partition come from, turned into a validated bin: a bin file, a
 * list of `<type> <file>` pairs, or the ESP-AT raw_data folder convention. Shared by `generate`,
 * `update` and the daemon's jobs, so all of them refuse the same bad input the same way.
 */
import { join } from 'node:path';
import { InputError } from '../errors.js';
import { encodePkiBin } from '../pki/bin-format.js';
import { describeItem, perTypeIndexes, pkiTypeOfPartition, type PkiItem } from '../pki/types.js';
import { validatePkiItems, type Finding, type ValidationResult } from '../pki/validate.js';
import { decodePkiBinFile, readBinFile } from './bin-file.js';
import type { FileRoots } from './file-roots.js';
import { isSecureCertFormat } from '../pki/detect-format.js';
import { inspectSecureCert } from '../pki/secure-cert/inspect.js';
import { storedCredentials, validateStoredCredentials } from '../pki/secure-cert/stored-credentials.js';
import { PARTITION_DIR_EXTENSIONS, readCredentialFiles, readPartitionDir, type CredentialFileSpec } from './credential-files.js';

export type BinSource =
  /** A ready-made bin file (checked to be a well-formed PKI bin). */
  | { kind: 'bin'; path: string }
  /** `<type> <file>` pairs, in order. */
  | { kind: 'files'; files: CredentialFileSpec[] }
  /** The files of `<root>/<partition>/`, sorted by name, typed by the partition name's suffix. */
  | { kind: 'dir'; root: string; partition: string };

export interface PreparedBin {
  /** What the bytes are: an ESP-AT PKI bin, or a whole esp_secure_cert partition image. */
  format: 'atpki' | 'esp-secure-cert';
  bin: Buffer;
  items: PkiItem[];
  /** Undefined when validation was skipped. */
  validation: ValidationResult | undefined;
  /** Files of a raw_data folder that were left out. */
  ignored: string[];
  /** Things the user should know about how the items were found (printed as warnings). */
  notes: string[];
}

export interface PrepareOptions {
  /** Check the items (certificate/key parsing, pairing, issuers, validity). @default true */
  validate?: boolean;
  /** Only files that, as opened, lie below these folders (the daemon's jobs.fileRoots). */
  within?: FileRoots;
  signal?: AbortSignal;
}

/** Build (or load) the bin. Validation errors throw an InputError listing them; warnings are returned. */
export async function prepareBin(source: BinSource, options: PrepareOptions = {}): Promise<PreparedBin> {
  const validate = options.validate ?? true;
  const reading = { within: options.within, signal: options.signal };
  let items: PkiItem[];
  let bin: Buffer | undefined;
  let format: PreparedBin['format'] = 'atpki';
  const ignored: string[] = [];
  const notes: string[] = [];
  switch (source.kind) {
    case 'bin': {
      const file = await readBinFile(source.path, reading);
      if (isSecureCertFormat(file.format.format)) {
        return prepareSecureCertImage(file.path, file.bytes, validate);
      }
      const loaded = decodePkiBinFile(file);
      items = loaded.bin.items.map((item) => ({ type: item.type, content: item.content, source: `${source.path}#${item.type}${item.id}` }));
      notes.push(...loaded.bin.warnings.map((w) => `${source.path}: ${w}`));
      // The file's own bytes, as given: only the bin itself (a read-back's 0xFF tail is dropped).
      bin = loaded.bytes.subarray(0, 8 + loaded.bin.length);
      break;
    }
    case 'files':
      items = await readCredentialFiles(source.files, reading);
      break;
    case 'dir': {
      const found = await readPartitionDir(source.root, source.partition, reading);
      items = found.items;
      ignored.push(...found.ignored.map((name) => join(found.dir, name)));
      const taken = PARTITION_DIR_EXTENSIONS[found.type].map((ext) => `*${ext}`).join(' ');
      notes.push(...ignored.map((path) => `ignored ${path}: ${found.type} partitions take ${taken}`));
      break;
    }
  }
  const validation = validate ? validatePkiItems(items) : undefined;
  if (validation && validation.errors.length > 0) throw validationFailure(validation.errors, validation.warnings);
  return { format, bin: bin ?? encodePkiBin(items), items, validation, ignored, notes };
}

/**
 * An esp_secure_cert partition image (TLV or legacy cust_flash) goes to its partition as it is, but
 * only if every CRC, length and hash in it checks out.
 */
function prepareSecureCertImage(path: string, bytes: Buffer, validate: boolean): PreparedBin {
  const inspection = inspectSecureCert(bytes);
  if (!inspection.valid) {
    const first = inspection.image.problems.find((problem) => problem.severity === 'error');
    throw new InputError(`${path}: damaged esp_secure_cert image: ${first?.message ?? 'see at-pki inspect'}`, { details: { path } });
  }
  const items = storedCredentials(inspection.image);
  const validation = validate ? validateStoredCredentials(items) : undefined;
  if (validation && validation.errors.length > 0) throw validationFailure(validation.errors, validation.warnings);
  return { format: 'esp-secure-cert', bin: bytes, items, validation, ignored: [], notes: [] };
}

/** One error: say it in the message. Several: count them; `details.errors` lists them all. */
export function validationFailure(errors: readonly Finding[], warnings: readonly Finding[]): InputError {
  const details = { errors, warnings };
  if (errors.length === 1) {
    return new InputError(`validation failed: ${errors[0]!.message} (--no-validate writes the bin anyway)`, { details });
  }
  return new InputError(
    `validation failed with ${errors.length} errors: ${errors.map((e) => e.message).join('; ')} (--no-validate writes the bin anyway)`,
    { details },
  );
}

/**
 * ESP-AT reads one item type per partition or namespace (`client_cert` holds certificates,
 * `client_key` keys, `client_ca` CA certificates). A key sent to a `_cert` partition would be
 * stored and then never work: refuse it.
 */
export function checkItemTypesFor(target: string, items: readonly PkiItem[]): void {
  const expected = pkiTypeOfPartition(target);
  if (expected === undefined) return;
  const indexes = perTypeIndexes(items);
  const wrong = items.findIndex((item) => item.type !== expected);
  if (wrong < 0) return;
  const item = items[wrong]!;
  throw new InputError(
    `${target} holds ${expected} items, but ${describeItem({ type: item.type, index: indexes[wrong]!, source: item.source })} is a ${item.type} (--no-validate skips this check)`,
    { details: { target, expected, found: item.type } },
  );
}

/** The esp_secure_cert partition takes an esp_secure_cert image, and nothing else does. */
export function checkImageFormatFor(target: string, format: PreparedBin['format']): void {
  if (target === 'esp_secure_cert' && format !== 'esp-secure-cert') {
    throw new InputError(
      "the esp_secure_cert partition holds an esp_secure_cert image: build one with 'at-pki generate --format esp-secure-cert' and pass it as a bin file",
      { details: { target, format } },
    );
  }
  if (format === 'esp-secure-cert' && target !== 'esp_secure_cert') {
    throw new InputError(`this is an esp_secure_cert image; it belongs in the esp_secure_cert partition, not ${target}`, { details: { target, format } });
  }
}
