/**
 * Decode and check a TLV image: every entry reachable the way the firmware walks, every CRC, every
 * value, the checks between entries, the INTEGRITY hash, and what follows the last entry. Never
 * throws on bad data: everything wrong is a problem in the result.
 */
import { describeTlvValue, type TlvValueInfo } from './entry-values.js';
import { hexOffset, type SecureCertProblem, type SecureCertProblemCode } from './problems.js';
import { entryLabel, TLV_ALIGNMENT, TLV_MAGIC, type TlvEntry } from './tlv-entry.js';
import { walkTlvImage, type TlvTermination } from './tlv-image.js';
import { isKnownTlvType, privKeyTypeOfFlags, TlvType, tlvTypeName } from './tlv-types.js';

export interface DecodedTlvEntry {
  entry: TlvEntry;
  info: TlvValueInfo;
}

/** The firmware's view of INTEGRITY: the last entry of the type decides. */
export interface IntegrityStatus {
  status: 'ok' | 'mismatch' | 'absent';
  /** Offset of the INTEGRITY entry that decides. */
  offset?: number;
  subtype?: number;
  /** Entries after it (not covered by its hash). */
  uncoveredEntries: number;
}

export interface DecodedTlvImage {
  layout: 'tlv';
  entries: DecodedTlvEntry[];
  /** End of the last whole entry. */
  end: number;
  termination: TlvTermination;
  trailingBytes: number;
  integrity: IntegrityStatus;
  /** How many entries the firmware's iterator lists: it stops at the first bad CRC. */
  listedEntries: number;
  problems: SecureCertProblem[];
}

export function decodeTlvImage(image: Uint8Array): DecodedTlvImage {
  const walk = walkTlvImage(image);
  const problems: SecureCertProblem[] = [];
  const add = (severity: SecureCertProblem['severity'], code: SecureCertProblemCode, message: string, offset?: number): void => {
    problems.push(offset === undefined ? { severity, code, message } : { severity, code, message, offset });
  };
  const where = (entry: TlvEntry): string => `${entryLabel(entry)} at ${hexOffset(entry.offset)}`;

  const firstBad = walk.entries.findIndex((entry) => !entry.crcOk);
  const listedEntries = firstBad === -1 ? walk.entries.length : firstBad;
  const entries: DecodedTlvEntry[] = walk.entries.map((entry, index) => {
    if (!entry.crcOk) {
      const hidden = index === firstBad && index < walk.entries.length - 1 ? `; the firmware's entry listing stops here and does not show the ${walk.entries.length - 1 - index} entries after it` : '';
      add('error', 'CRC_MISMATCH', `${where(entry)}: CRC mismatch (stored 0x${hex8(entry.crc)}, computed 0x${hex8(entry.computedCrc)}): the firmware refuses this entry${hidden}`, entry.offset);
    }
    const { info, errors } = describeTlvValue(entry, image);
    const code: SecureCertProblemCode = entry.type === TlvType.INTEGRITY ? 'INTEGRITY_MISMATCH' : entry.type === TlvType.SIGNATURE_BLOCK ? 'BAD_SIGNATURE_BLOCK' : 'BAD_VALUE';
    for (const error of errors) add('error', code, `${where(entry)}: ${error}`, entry.offset);
    return { entry, info };
  });

  checkHeaders(walk.entries, add, where);
  checkPairs(walk.entries, add, where);
  checkEnd(image, walk, add);
  const integrity = integrityOf(entries);
  if (integrity.status !== 'absent' && integrity.uncoveredEntries > 0) {
    add('warning', 'NOT_COVERED', `the ${integrity.uncoveredEntries} entries after INTEGRITY/${integrity.subtype} at ${hexOffset(integrity.offset!)} are not covered by its hash`, integrity.offset);
  }
  return { layout: 'tlv', entries, end: walk.end, termination: walk.termination, trailingBytes: walk.trailingBytes, integrity, listedEntries, problems };
}

type Add = (severity: SecureCertProblem['severity'], code: SecureCertProblemCode, message: string, offset?: number) => void;

/** Unknown types, repeated (type, subtype) pairs, old-tool headers. */
function checkHeaders(entries: readonly TlvEntry[], add: Add, where: (entry: TlvEntry) => string): void {
  const first = new Map<string, TlvEntry>();
  let legacy = 0;
  for (const entry of entries) {
    if (!isKnownTlvType(entry.type)) add('warning', 'UNKNOWN_TYPE', `${where(entry)}: type ${entry.type} is not one esp_secure_cert_mgr defines`, entry.offset);
    const label = entryLabel(entry);
    const earlier = first.get(label);
    if (earlier) add('warning', 'DUPLICATE_ENTRY', `${where(entry)} repeats the one at ${hexOffset(earlier.offset)}; the firmware only ever finds the first`, entry.offset);
    else first.set(label, entry);
    if (entry.flags === 0xff && entry.reserved.every((byte) => byte === 0xff)) legacy++;
    else if (entry.reserved.some((byte) => byte !== 0)) add('warning', 'LEGACY_HEADER', `${where(entry)}: reserved bytes ${entry.reserved.toString('hex')} are not zero (readers ignore them)`, entry.offset);
  }
  if (legacy > 0) {
    add('warning', 'LEGACY_HEADER', `${legacy === entries.length ? 'all' : legacy} entries have the header of tools v2.0.0–v2.0.5 (flags and reserved bytes 0xFF), which every reader accepts as no flags`);
  }
}

/** Entries that only work together: DS_DATA + DS_CONTEXT, HMAC-derived key + salt, ECDSA peripheral key + SEC_CFG. */
function checkPairs(entries: readonly TlvEntry[], add: Add, where: (entry: TlvEntry) => string): void {
  const find = (type: number, subtype: number): TlvEntry | undefined => entries.find((entry) => entry.type === type && entry.subtype === subtype);
  for (const entry of entries) {
    if (entry.type === TlvType.DS_DATA || entry.type === TlvType.DS_CONTEXT) {
      const otherType = entry.type === TlvType.DS_DATA ? TlvType.DS_CONTEXT : TlvType.DS_DATA;
      const other = find(otherType, entry.subtype);
      if (other === undefined) {
        add('error', 'INCONSISTENT', `${where(entry)} has no ${tlvTypeName(otherType)}/${entry.subtype}: the DS key needs both`, entry.offset);
      } else if (entry.type === TlvType.DS_CONTEXT && entry.value.length === 8 && other.value.length >= 4) {
        const contextBits = entry.value.readUInt16LE(6);
        const dataBits = (other.value.readInt32LE(0) + 1) * 32;
        if (contextBits !== dataBits) add('error', 'INCONSISTENT', `${where(entry)} says ${contextBits}-bit RSA, ${where(other)} holds a ${dataBits}-bit key`, entry.offset);
      }
    }
    if (entry.type === TlvType.PRIV_KEY) {
      const keyType = privKeyTypeOfFlags(entry.flags);
      if (keyType === 'HMAC_DERIVED_ECDSA' && find(TlvType.HMAC_ECDSA_KEY_SALT, entry.subtype) === undefined) {
        add('error', 'INCONSISTENT', `${where(entry)} is an HMAC-derived ECDSA key but there is no HMAC_ECDSA_KEY_SALT/${entry.subtype} to derive it from`, entry.offset);
      }
      if (keyType === 'ECDSA_PERIPHERAL' && find(TlvType.SEC_CFG, entry.subtype) === undefined) {
        add('warning', 'INCONSISTENT', `${where(entry)} is an ECDSA-peripheral key but there is no SEC_CFG/${entry.subtype} naming its eFuse block`, entry.offset);
      }
    }
  }
}

/** What follows the entries: a cut-off entry, or data the reader never reaches. */
function checkEnd(image: Uint8Array, walk: ReturnType<typeof walkTlvImage>, add: Add): void {
  if (walk.entries.length === 0 && walk.termination !== 'truncated') add('error', 'UNREACHABLE_DATA', 'no TLV entry at offset 0 (no magic 11 ba 5e ba)', 0);
  if (walk.truncated) {
    const { offset, needed, available, header } = walk.truncated;
    const what = header ? `${entryLabel(header)} (${header.length}-byte value)` : 'an entry header';
    add('error', 'TRUNCATED', `${what} at ${hexOffset(offset)} needs ${needed} bytes but the file ends ${available} bytes after it: the image is cut off`, offset);
    return;
  }
  if (walk.termination !== 'other-data') return;
  const bytes = Buffer.from(image.buffer, image.byteOffset, image.byteLength);
  for (let offset = walk.end + TLV_ALIGNMENT; offset + 4 <= bytes.length; offset += TLV_ALIGNMENT) {
    if (bytes.readUInt32LE(offset) === TLV_MAGIC) {
      add('error', 'UNREACHABLE_DATA', `the bytes at ${hexOffset(walk.end)} are not an entry (no magic), so the reader stops there and never reaches the TLV entry at ${hexOffset(offset)}`, walk.end);
      return;
    }
  }
  const head = bytes.subarray(walk.end, walk.end + 4).toString('hex');
  add('warning', 'TRAILING_DATA', `${walk.trailingBytes} bytes after the last entry (at ${hexOffset(walk.end)}, starting ${head}) are neither erased flash (0xFF) nor the end marker (ffff0000); the reader stops there`, walk.end);
}

function integrityOf(entries: readonly DecodedTlvEntry[]): IntegrityStatus {
  const last = entries.findLastIndex(({ entry }) => entry.type === TlvType.INTEGRITY);
  if (last === -1) return { status: 'absent', uncoveredEntries: 0 };
  const { entry, info } = entries[last]!;
  const ok = entry.crcOk && info.kind === 'integrity' && info.ok;
  return { status: ok ? 'ok' : 'mismatch', offset: entry.offset, subtype: entry.subtype, uncoveredEntries: entries.length - 1 - last };
}

function hex8(value: number): string {
  return value.toString(16).padStart(8, '0');
}
