/**
 * Item types of ESP-AT's PKI bin format (the one `tools/AtPKI.py generate_bin` writes) and the
 * names the CLI and the ESP-AT build convention use for them.
 */
import { InputError } from '../errors.js';

/** What an item holds: a CA certificate, a (client/server) certificate, or a private key. */
export type PkiType = 'ca' | 'cert' | 'key';

/** All types, in type-code order. */
export const PKI_TYPES: readonly PkiType[] = ['ca', 'cert', 'key'];

/** The type byte of each type in a bin. */
export const PKI_TYPE_CODES: Readonly<Record<PkiType, number>> = { ca: 0x01, cert: 0x02, key: 0x03 };

/** The type for a type byte, or undefined if the byte is not one of the three. */
export function pkiTypeOfCode(code: number): PkiType | undefined {
  return PKI_TYPES.find((type) => PKI_TYPE_CODES[type] === code);
}

/** One credential to put into a bin. */
export interface PkiItem {
  type: PkiType;
  /** The file bytes, unchanged (PEM or DER). */
  content: Uint8Array;
  /** Where the content came from (a file name), for messages only. */
  source?: string;
}

/** The type named on a command line: `ca`, `cert` or `key`, as AtPKI.py takes them. Throws InputError otherwise. */
export function parsePkiType(name: string): PkiType {
  if ((PKI_TYPES as readonly string[]).includes(name)) return name as PkiType;
  throw new InputError(`unknown item type '${name}' (expected ca, cert or key)`, { details: { type: name } });
}

/** The type a partition holds by ESP-AT's naming convention (`<feature>_ca|_cert|_key`), if it follows it. */
export function pkiTypeOfPartition(partition: string): PkiType | undefined {
  const match = /^.+_(ca|cert|key)$/.exec(partition);
  return match ? (match[1] as PkiType) : undefined;
}

/**
 * The per-type index of every item, in input order (`cert, key, cert` → 0, 0, 1). This is the ID
 * AtPKI.py writes, and the position the firmware uses to pair cert #i with key #i.
 */
export function perTypeIndexes(items: readonly { type: PkiType }[]): number[] {
  const next: Record<PkiType, number> = { ca: 0, cert: 0, key: 0 };
  return items.map((item) => next[item.type]++);
}

/** Identifies one item in messages and reports. */
export interface ItemRef {
  type: PkiType;
  /** Index within its type (see perTypeIndexes). */
  index: number;
  /** File name, when known. */
  source?: string;
}

/** `cert #1 (client.crt)`. */
export function describeItem(ref: ItemRef): string {
  return `${ref.type} #${ref.index}${ref.source === undefined ? '' : ` (${ref.source})`}`;
}
