import { DeviceError, InputError, ProtocolError } from '../errors.js';
import type { PkiItem } from '../pki/types.js';
import { ignoreEvents, type EventSink } from './events.js';
import { keysFor, staleKeys } from './mfg-update.js';
import type { EspAtModule } from './module.js';
import { SECTOR_SIZE } from './partition-table.js';
import { readRange } from './read-range.js';
import { checkMfgValueLength, listKeys, MFG_TYPES, readValue } from './sysmfg.js';

export interface VerifyReport {
  storage: 'partitions' | 'mfg_nvs';
  /** Partition label, or mfg_nvs namespace. */
  target: string;
  /** The module holds exactly what `update` would write. */
  match: boolean;
  /** Bytes compared: the whole partition, or the values of the namespace's keys. */
  checkedBytes: number;
  /** Where it differs, one entry per differing sector or key (empty when it matches). */
  differences: string[];
  /** Partitions: the first differing offset. */
  firstDifference?: number;
}

/** Reads of a differing sector before it counts as different: a byte garbled on the way back is not a difference. */
const CONFIRM_READS = 2;

/**
 * Does the module hold exactly what `update` would write — changing nothing? On a partition: the bin
 * padded to 4 bytes, then 0xFF to the partition's end, every byte of it read. On mfg_nvs: each key
 * `<ns>.0…` (or `<ns>`) holds its value as a binary key, and no stale `<ns>.<i>` follows. Used by
 * `at-pki verify` and the daemon's `verify` job.
 */
export async function verifyCredentials(
  module: EspAtModule,
  target: string,
  credentials: { bin: Uint8Array; items: readonly PkiItem[]; format?: 'atpki' | 'esp-secure-cert' },
  options: { signal?: AbortSignal; onEvent?: EventSink } = {},
): Promise<VerifyReport> {
  const signal = options.signal;
  const emit = options.onEvent ?? ignoreEvents;
  const hasPartition = (await module.partitions({ signal })).some((p) => p.label === target);
  if (!hasPartition && credentials.format !== 'esp-secure-cert' && (await module.storageMode({ signal })) === 'mfg_nvs') {
    return verifyNamespace(module, target, credentials.items.map((item) => item.content), options);
  }
  const partition = await module.partition(target, { signal });
  const image = Buffer.alloc(partition.size, 0xff);
  const padded = Math.ceil(credentials.bin.length / 4) * 4;
  if (padded > partition.size) {
    throw new InputError(`the bin (${credentials.bin.length} bytes) does not fit in partition ${target} (${partition.size} bytes)`, {
      details: { partition: target, binBytes: credentials.bin.length, partitionSize: partition.size },
    });
  }
  image.set(credentials.bin);
  const progress = (done: number): void => emit({ type: 'progress', phase: 'verify', done, total: partition.size, unit: 'bytes' });
  progress(0);
  const suspectBefore = module.session.suspectEvents;
  const content = await readRange(module.session, partition, 0, partition.size, { signal, onProgress: progress });
  const differences: string[] = [];
  let firstDifference: number | undefined;
  for (let sector = 0; sector < partition.size; sector += SECTOR_SIZE) {
    let actual = content.subarray(sector, sector + SECTOR_SIZE);
    const expected = image.subarray(sector, sector + SECTOR_SIZE);
    for (let read = 1; read < CONFIRM_READS && !actual.equals(expected); read++) {
      actual = await readRange(module.session, partition, sector, expected.length, { signal });
    }
    const at = firstDiff(actual, expected);
    if (at < 0) continue;
    firstDifference ??= sector + at;
    differences.push(
      `offset 0x${(sector + at).toString(16)} (sector 0x${sector.toString(16)}): read 0x${actual[at]!.toString(16).padStart(2, '0')}, expected 0x${expected[at]!.toString(16).padStart(2, '0')}${sector + at >= padded ? ' (should be erased: 0xFF after the bin)' : ''}`,
    );
  }
  if (module.session.suspectEvents !== suspectBefore) {
    // A read came back garbled and was retried: it may have run as another command. Say so rather than guess.
    throw new ProtocolError(`a command came back garbled on the line while verifying ${target}; run verify again`, { details: { partition: target } });
  }
  content.fill(0);
  return { storage: 'partitions', target, match: differences.length === 0, checkedBytes: partition.size, differences, ...(firstDifference === undefined ? {} : { firstDifference }) };
}

async function verifyNamespace(module: EspAtModule, namespace: string, values: readonly Uint8Array[], options: { signal?: AbortSignal; onEvent?: EventSink }): Promise<VerifyReport> {
  const signal = options.signal;
  const emit = options.onEvent ?? ignoreEvents;
  if (values.length === 0) throw new InputError(`no credentials to compare with ${namespace}`);
  const keys = keysFor(namespace, values.length);
  values.forEach((value, i) => checkMfgValueLength(value.length, `${keys[i]} (${value.length} bytes)`));
  const total = values.reduce((sum, v) => sum + v.length, 0);
  const session = module.session;
  const listed = await listKeys(session, namespace, { signal }).catch((error: unknown) => {
    if (error instanceof DeviceError) return [];
    throw error;
  });
  const differences: string[] = [];
  let checkedBytes = 0;
  emit({ type: 'progress', phase: 'verify', done: 0, total, unit: 'bytes' });
  for (const [i, key] of keys.entries()) {
    const want = Buffer.from(values[i]!);
    if (!listed.some((entry) => entry.key === key)) {
      differences.push(`${namespace}/${key} is missing`);
      continue;
    }
    let value = await readValue(session, namespace, key, { signal });
    // A value garbled on the way back is not a difference: read it once more before saying so.
    if (!(value.type === MFG_TYPES.binary && value.bytes?.equals(want))) value = await readValue(session, namespace, key, { signal });
    checkedBytes += want.length;
    emit({ type: 'progress', phase: 'verify', done: checkedBytes, total, unit: 'bytes' });
    if (value.type !== MFG_TYPES.binary) differences.push(`${namespace}/${key} is not a binary key (type ${value.type})`);
    else if (!value.bytes?.equals(want)) differences.push(`${namespace}/${key} holds ${value.bytes?.length ?? 0} bytes that differ from the ${want.length}-byte value`);
    value.bytes?.fill(0);
  }
  for (const key of staleKeys(namespace, keys, listed)) differences.push(`${namespace}/${key} is stale (not part of this set)`);
  return { storage: 'mfg_nvs', target: namespace, match: differences.length === 0, checkedBytes, differences };
}

function firstDiff(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < b.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}
