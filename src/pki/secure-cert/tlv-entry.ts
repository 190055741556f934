/**
 * One esp_secure_cert TLV entry: header, value, zero padding, CRC.
 *
 * ```
 * off  size  field
 *   0     4  magic 0xBA5EBA11 (u32 LE: 11 BA 5E BA)
 *   4     1  flags (see tlv-types.ts)
 *   5     3  reserved, 0 (tools v2.0.0–v2.0.5 wrote FF FF FF, with flags FF)
 *   8     1  type
 *   9     1  subtype
 *  10     2  length of the value (u16 LE)
 *  12   len  value
 *   …   pad  zero bytes up to a multiple of 16: (16 - len % 16) % 16
 *   …     4  CRC (u32 LE, crc.ts) of everything before it: header, value, padding
 * ```
 * An entry is always a multiple of 16 bytes (the flash-encryption write granularity).
 */
import { InputError } from '../../errors.js';
import { secureCertCrc } from './crc.js';
import { tlvTypeName } from './tlv-types.js';

export const TLV_MAGIC = 0xba5eba11;
export const TLV_HEADER_SIZE = 12;
export const TLV_FOOTER_SIZE = 4;
export const TLV_ALIGNMENT = 16;
/** The length field is 16 bits. */
export const TLV_MAX_VALUE_LENGTH = 0xffff;

/** What to put in one entry. */
export interface TlvEntryInput {
  type: number;
  /** @default 0 */
  subtype?: number;
  /** @default 0 */
  flags?: number;
  /** The 3 reserved bytes; only to reproduce images of old tools (FF FF FF). @default 00 00 00 */
  reserved?: Uint8Array;
  value: Uint8Array;
}

/** An entry as found in an image. */
export interface TlvEntry {
  /** Offset of the header in the image. */
  offset: number;
  flags: number;
  reserved: Buffer;
  type: number;
  subtype: number;
  /** Value length (the header's length field). */
  length: number;
  /** Zero bytes after the value. */
  padding: number;
  value: Buffer;
  /** The CRC stored in the entry. */
  crc: number;
  /** The CRC of the header, value and padding as found. */
  computedCrc: number;
  crcOk: boolean;
  /** Bytes the entry takes (header + value + padding + CRC). */
  size: number;
}

/** The outcome of reading at an offset. */
export type TlvRead =
  | { kind: 'entry'; entry: TlvEntry }
  /** The 4 bytes at the offset are not the magic (or fewer than 4 bytes are left): the reader stops here. */
  | { kind: 'end' }
  /** The magic is there but the entry runs past the end of the image. */
  | { kind: 'truncated'; offset: number; needed: number; available: number; header?: { type: number; subtype: number; length: number } };

export function tlvPaddingLength(valueLength: number): number {
  return (TLV_ALIGNMENT - (valueLength % TLV_ALIGNMENT)) % TLV_ALIGNMENT;
}

export function tlvEntrySize(valueLength: number): number {
  return TLV_HEADER_SIZE + valueLength + tlvPaddingLength(valueLength) + TLV_FOOTER_SIZE;
}

/** True if the image starts with the TLV magic (the firmware's own test for the TLV format). */
export function hasTlvMagic(image: Uint8Array): boolean {
  return image.length >= 4 && Buffer.from(image.buffer, image.byteOffset, image.byteLength).readUInt32LE(0) === TLV_MAGIC;
}

/** `DEV_CERT/0`: how messages name an entry. */
export function entryLabel(entry: { type: number; subtype: number }): string {
  return `${tlvTypeName(entry.type)}/${entry.subtype}`;
}

/** The bytes of one entry. InputError for a value over 65,535 bytes; RangeError for out-of-range header fields. */
export function encodeTlvEntry(input: TlvEntryInput): Buffer {
  const { type, subtype = 0, flags = 0, value } = input;
  const reserved = input.reserved ?? new Uint8Array(3);
  for (const [name, field] of [['type', type], ['subtype', subtype], ['flags', flags]] as const) {
    if (!Number.isInteger(field) || field < 0 || field > 0xff) throw new RangeError(`TLV ${name} must be a byte, got ${field}`);
  }
  if (reserved.length !== 3) throw new RangeError(`TLV reserved field must be 3 bytes, got ${reserved.length}`);
  if (value.length > TLV_MAX_VALUE_LENGTH) {
    throw new InputError(`${entryLabel({ type, subtype })} is ${value.length} bytes; a TLV entry holds at most ${TLV_MAX_VALUE_LENGTH}`, {
      details: { type, subtype, length: value.length },
    });
  }
  const entry = Buffer.alloc(tlvEntrySize(value.length));
  entry.writeUInt32LE(TLV_MAGIC, 0);
  entry[4] = flags;
  entry.set(reserved, 5);
  entry[8] = type;
  entry[9] = subtype;
  entry.writeUInt16LE(value.length, 10);
  entry.set(value, TLV_HEADER_SIZE);
  const crcAt = entry.length - TLV_FOOTER_SIZE;
  entry.writeUInt32LE(secureCertCrc(entry.subarray(0, crcAt)), crcAt);
  return entry;
}

/** Read the entry at `offset`, checking its CRC. Never throws on bad data. */
export function readTlvEntry(image: Uint8Array, offset: number): TlvRead {
  const bytes = Buffer.from(image.buffer, image.byteOffset, image.byteLength);
  if (bytes.length - offset < 4 || bytes.readUInt32LE(offset) !== TLV_MAGIC) return { kind: 'end' };
  const available = bytes.length - offset;
  if (available < TLV_HEADER_SIZE) return { kind: 'truncated', offset, needed: TLV_HEADER_SIZE, available };
  const header = { type: bytes[offset + 8]!, subtype: bytes[offset + 9]!, length: bytes.readUInt16LE(offset + 10) };
  const size = tlvEntrySize(header.length);
  if (available < size) return { kind: 'truncated', offset, needed: size, available, header };
  const crcAt = offset + size - TLV_FOOTER_SIZE;
  const crc = bytes.readUInt32LE(crcAt);
  const computedCrc = secureCertCrc(bytes.subarray(offset, crcAt));
  return {
    kind: 'entry',
    entry: {
      offset,
      flags: bytes[offset + 4]!,
      reserved: bytes.subarray(offset + 5, offset + 8),
      ...header,
      padding: tlvPaddingLength(header.length),
      value: bytes.subarray(offset + TLV_HEADER_SIZE, offset + TLV_HEADER_SIZE + header.length),
      crc,
      computedCrc,
      crcOk: crc === computedCrc,
      size,
    },
  };
}
