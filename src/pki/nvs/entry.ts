/**
 * One 32-byte NVS entry: namespace index u8 @0 (0 = the entry defines a namespace), type u8 @1,
 * span u8 @2 (entries used, header included), chunk index u8 @3 (0xFF unless blob data), CRC-32 @4
 * of bytes 0…3 and 8…31, key (NUL-padded, at most 15 characters) @8, data @24 (8 bytes): the
 * little-endian integer (0xFF-padded), or for strings/blob chunks size u16, 0xFFFF, data CRC u32,
 * or for a blob index total size u32, chunk count u8, first chunk index u8, 0xFFFF.
 */
import { nvsCrc32 } from './crc.js';
import { NVS_ENTRY_SIZE } from './page-header.js';

export const ItemType = {
  U8: 0x01,
  I8: 0x11,
  U16: 0x02,
  I16: 0x12,
  U32: 0x04,
  I32: 0x14,
  U64: 0x08,
  I64: 0x18,
  SZ: 0x21,
  BLOB: 0x41,
  BLOB_DATA: 0x42,
  BLOB_IDX: 0x48,
} as const;

export type IntegerTypeName = 'u8' | 'i8' | 'u16' | 'i16' | 'u32' | 'i32' | 'u64' | 'i64';

export const INTEGER_TYPES: Readonly<Record<IntegerTypeName, { code: number; bytes: 1 | 2 | 4 | 8; signed: boolean }>> = {
  u8: { code: ItemType.U8, bytes: 1, signed: false },
  i8: { code: ItemType.I8, bytes: 1, signed: true },
  u16: { code: ItemType.U16, bytes: 2, signed: false },
  i16: { code: ItemType.I16, bytes: 2, signed: true },
  u32: { code: ItemType.U32, bytes: 4, signed: false },
  i32: { code: ItemType.I32, bytes: 4, signed: true },
  u64: { code: ItemType.U64, bytes: 8, signed: false },
  i64: { code: ItemType.I64, bytes: 8, signed: true },
};

const TYPE_NAMES: Readonly<Record<number, string>> = {
  [ItemType.U8]: 'u8',
  [ItemType.I8]: 'i8',
  [ItemType.U16]: 'u16',
  [ItemType.I16]: 'i16',
  [ItemType.U32]: 'u32',
  [ItemType.I32]: 'i32',
  [ItemType.U64]: 'u64',
  [ItemType.I64]: 'i64',
  [ItemType.SZ]: 'string',
  [ItemType.BLOB]: 'blob',
  [ItemType.BLOB_DATA]: 'blob_data',
  [ItemType.BLOB_IDX]: 'blob_index',
};

export function itemTypeName(type: number): string {
  return TYPE_NAMES[type] ?? `0x${type.toString(16).padStart(2, '0')}`;
}

export function integerTypeOf(code: number): IntegerTypeName | undefined {
  return (Object.keys(INTEGER_TYPES) as IntegerTypeName[]).find((name) => INTEGER_TYPES[name].code === code);
}

/** Longest key (and namespace name): 15 characters, the 16th byte is the NUL. */
export const NVS_MAX_KEY_LENGTH = 15;
/** chunkIndex of every entry that is not blob data. */
export const CHUNK_ANY = 0xff;

export interface EntryFields {
  namespace: number;
  type: number;
  span: number;
  chunkIndex: number;
  key: string;
  /** The 8 data bytes. */
  data: Uint8Array;
}

/** A 32-byte entry with its CRC. */
export function encodeEntry(fields: EntryFields): Buffer {
  const entry = Buffer.alloc(NVS_ENTRY_SIZE, 0xff);
  entry[0] = fields.namespace;
  entry[1] = fields.type;
  entry[2] = fields.span;
  entry[3] = fields.chunkIndex;
  entry.fill(0, 8, 24);
  entry.write(fields.key, 8, 16, 'latin1');
  entry.set(fields.data.subarray(0, 8), 24);
  entry.writeUInt32LE(entryCrc(entry), 4);
  return entry;
}

export function entryCrc(entry: Uint8Array): number {
  const covered = Buffer.alloc(28);
  covered.set(entry.subarray(0, 4), 0);
  covered.set(entry.subarray(8, 32), 4);
  return nvsCrc32(covered);
}

export interface DecodedEntry extends EntryFields {
  crc: number;
  crcOk: boolean;
  /** The key bytes hold a NUL within 16 bytes (a valid key). */
  keyTerminated: boolean;
}

export function decodeEntry(bytes: Uint8Array): DecodedEntry {
  const entry = Buffer.from(bytes.buffer, bytes.byteOffset, NVS_ENTRY_SIZE);
  const keyBytes = entry.subarray(8, 24);
  const nul = keyBytes.indexOf(0);
  const crc = entry.readUInt32LE(4);
  return {
    namespace: entry[0]!,
    type: entry[1]!,
    span: entry[2]!,
    chunkIndex: entry[3]!,
    key: keyBytes.subarray(0, nul < 0 ? 16 : nul).toString('latin1'),
    data: Buffer.from(entry.subarray(24, 32)),
    crc,
    crcOk: entryCrc(entry) === crc,
    keyTerminated: nul >= 0,
  };
}

/** Data field of a string, a version-1 blob or a blob chunk: size, 0xFFFF, CRC of the data. */
export function varlenData(size: number, payload: Uint8Array): Buffer {
  const data = Buffer.alloc(8, 0xff);
  data.writeUInt16LE(size, 0);
  data.writeUInt32LE(nvsCrc32(payload), 4);
  return data;
}

/** Data field of a blob index: total size, chunk count, first chunk index, 0xFFFF. */
export function blobIndexData(size: number, chunkCount: number, chunkStart: number): Buffer {
  const data = Buffer.alloc(8, 0xff);
  data.writeUInt32LE(size, 0);
  data[4] = chunkCount;
  data[5] = chunkStart;
  return data;
}
