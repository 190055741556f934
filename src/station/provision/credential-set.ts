/**
 * One credential set: what goes into every partition (ESP-AT ≤ 3.0) or mfg_nvs namespace (≥ 3.1) of
 * one unit. A batch set is a folder in ESP-AT's raw_data layout (`<set>/client_cert/…`,
 * `<set>/client_key/…`, `<set>/client_ca/…`, any credential namespace); an issued set is built in
 * memory. Validation is the same for both: each item parses, cert #i and key #i of a feature
 * (`client`, `mqtt`…) belong together, certificates verify against a CA of the set when it has
 * one, and each target fits its partition and the 8,191-byte SYSMFG value limit.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { InputError } from '../../errors.js';
import { KNOWN_PARTITION_SIZES, readPartitionDir } from '../../flash/credential-files.js';
import { MFG_MAX_VALUE_LENGTH } from '../../flash/sysmfg.js';
import { encodePkiBin } from '../../pki/bin-format.js';
import { pkiTypeOfPartition, type PkiItem } from '../../pki/types.js';
import { validatePkiItems } from '../../pki/validate.js';
import type { NewSet, SetFile } from '../ledger/ledger.js';

/** What one partition or namespace gets. */
export interface SetTarget {
  target: string;
  items: PkiItem[];
  /** The PKI bin (for partitions). */
  bin: Buffer;
}

export interface CredentialSet {
  name: string;
  /** In write order: CAs first, then certificates, keys last (a torn set never has a key without its certificate). */
  targets: SetTarget[];
  /** Public parts, as the ledger keeps them. */
  record: NewSet;
}

const WRITE_ORDER = { ca: 0, cert: 1, key: 2 } as const;

/** Build, validate and describe a set from its targets (items in memory). InputError naming the set on any problem. */
export function credentialSet(name: string, targets: readonly { target: string; items: PkiItem[]; files?: SetFile[] }[], now = new Date()): CredentialSet {
  if (targets.length === 0) throw new InputError(`set ${name}: no credential folders (client_cert/, client_key/, client_ca/, …)`, { details: { set: name } });
  const ordered = [...targets].sort((a, b) => WRITE_ORDER[typeOf(name, a.target)] - WRITE_ORDER[typeOf(name, b.target)] || a.target.localeCompare(b.target));
  const built: SetTarget[] = [];
  for (const { target, items } of ordered) {
    for (const item of items) {
      if (item.type !== typeOf(name, target)) throw new InputError(`set ${name}: ${target} holds ${typeOf(name, target)} items, not ${item.type}`, { details: { set: name, target } });
      if (item.content.length > MFG_MAX_VALUE_LENGTH) {
        throw new InputError(`set ${name}: ${item.source ?? target} is ${item.content.length} bytes; AT+SYSMFG stores at most ${MFG_MAX_VALUE_LENGTH} bytes per key`, {
          details: { set: name, target, bytes: item.content.length },
        });
      }
    }
    const bin = encodePkiBin(items);
    const size = KNOWN_PARTITION_SIZES[target];
    if (size !== undefined && bin.length > size) {
      throw new InputError(`set ${name}: the ${target} bin is ${bin.length} bytes; the ${target} partition holds ${size}`, { details: { set: name, target, binBytes: bin.length, partitionSize: size } });
    }
    built.push({ target, items, bin });
  }
  // Validate per feature: client_ca + client_cert + client_key pair and chain among themselves.
  const features = new Map<string, PkiItem[]>();
  for (const { target, items } of built) {
    const feature = target.replace(/_(ca|cert|key)$/, '');
    features.set(feature, [...(features.get(feature) ?? []), ...items]);
  }
  for (const [feature, items] of features) {
    // Order as a bin would hold them so cert #i / key #i pair up.
    const result = validatePkiItems(items, { now });
    if (result.errors.length > 0) {
      throw new InputError(`set ${name} (${feature}): ${result.errors.map((e) => e.message).join('; ')}`, { details: { set: name, feature, errors: result.errors } });
    }
  }
  const certTarget = built.find((t) => t.target === 'client_cert') ?? built.find((t) => typeOf(name, t.target) === 'cert');
  if (!certTarget) throw new InputError(`set ${name}: no certificate (client_cert/ or another *_cert folder)`, { details: { set: name } });
  const certificate = new X509Certificate(certTarget.items[0]!.content);
  const files = targets.flatMap((t) => t.files ?? t.items.map((item) => fileRecord(t.target, item, '')));
  return {
    name,
    targets: built,
    record: {
      name,
      certificatePem: certificate.toString(),
      certificateDer: new Uint8Array(certificate.raw),
      serialHex: certificate.serialNumber.toLowerCase().replace(/^0+(?=.)/, ''),
      sha256Hex: createHash('sha256').update(certificate.raw).digest('hex'),
      subject: certificate.subject.split('\n').join(', '),
      notAfter: new Date(certificate.validTo),
      files,
    },
  };
}

/** Read and validate the set in `setDir` (its folder name is its name). */
export async function readSetDir(setDir: string, name: string, now = new Date()): Promise<CredentialSet> {
  let entries;
  try {
    entries = await readdir(setDir, { withFileTypes: true });
  } catch (error) {
    throw new InputError(`cannot read set folder ${setDir}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, { details: { set: name, path: setDir } });
  }
  const targets = [];
  for (const entry of entries.filter((e) => !e.name.startsWith('.')).sort((a, b) => a.name.localeCompare(b.name))) {
    if (!entry.isDirectory() || pkiTypeOfPartition(entry.name) === undefined) {
      throw new InputError(`set ${name}: ${entry.name} is not a credential folder (expected folders such as client_cert/, client_key/, client_ca/)`, {
        details: { set: name, entry: entry.name },
      });
    }
    const found = await readPartitionDir(setDir, entry.name);
    if (found.ignored.length > 0) {
      throw new InputError(`set ${name}: ${found.ignored.map((path) => relative(setDir, join(found.dir, path))).join(', ')} not taken by ESP-AT's build scripts; remove it`, {
        details: { set: name, ignored: found.ignored },
      });
    }
    targets.push({ target: entry.name, items: found.items, files: found.items.map((item) => fileRecord(entry.name, item, setDir)) });
  }
  return credentialSet(name, targets, now);
}

/**
 * The set as imported, read again for provisioning: refused (InputError, module untouched) when a
 * file changed since the import, so a unit never gets bytes other than the ledger recorded.
 */
export async function loadRecordedSet(setDir: string, recorded: { name: string; sha256Hex: string; files: readonly SetFile[] }): Promise<CredentialSet> {
  const set = await readSetDir(setDir, recorded.name);
  const now = JSON.stringify([...set.record.files].sort(byPath));
  const then = JSON.stringify([...recorded.files].sort(byPath));
  if (now !== then || set.record.sha256Hex !== recorded.sha256Hex) {
    throw new InputError(`set ${recorded.name}: the files in ${setDir} changed since the batch was imported; restore them (nothing was written)`, {
      details: { set: recorded.name, path: setDir, deviceState: 'unchanged' },
    });
  }
  return set;
}

function typeOf(set: string, target: string): 'ca' | 'cert' | 'key' {
  const type = pkiTypeOfPartition(target);
  if (!type) throw new InputError(`set ${set}: ${target} is not a credential namespace (…_ca, …_cert, …_key)`, { details: { set, target } });
  return type;
}

function fileRecord(target: string, item: PkiItem, root: string): SetFile {
  return {
    target,
    type: item.type,
    file: item.source && root ? relative(root, item.source) : '',
    bytes: item.content.length,
    sha256Hex: createHash('sha256').update(item.content).digest('hex'),
  };
}

function byPath(a: SetFile, b: SetFile): number {
  return `${a.target}/${a.file}`.localeCompare(`${b.target}/${b.file}`);
}
