/**
 * An NVS page (ESP-IDF "NVS internals"): 4096 bytes = a 32-byte header, a 32-byte entry state
 * bitmap, then 126 entries of 32 bytes. Header: state u32 @0, sequence number u32 @4, format
 * version u8 @8 (0xFF = version 1, 0xFE = version 2, multipage blobs), 0xFF up to @28, then the
 * CRC-32 of bytes 4…27 @28.
 */
import { nvsCrc32 } from './crc.js';

export const NVS_PAGE_SIZE = 4096;
export const NVS_ENTRY_SIZE = 32;
export const NVS_ENTRIES_PER_PAGE = 126;
/** Offset of the entry state bitmap, then of the first entry. */
export const NVS_BITMAP_OFFSET = 32;
export const NVS_FIRST_ENTRY_OFFSET = 64;

/** Page states: bits are only ever cleared, so each state is the previous one with one more 0 bit. */
export const PageState = {
  EMPTY: 0xffffffff,
  ACTIVE: 0xfffffffe,
  FULL: 0xfffffffc,
  FREEING: 0xfffffff8,
  CORRUPT: 0xfffffff0,
} as const;

export type PageStateName = 'empty' | 'active' | 'full' | 'freeing' | 'corrupt' | 'invalid';

/** The header's version byte. */
export const NvsVersion = { V1: 0xff, V2: 0xfe } as const;
export type NvsFormatVersion = 1 | 2;

export function versionByte(version: NvsFormatVersion): number {
  return version === 1 ? NvsVersion.V1 : NvsVersion.V2;
}

export function pageStateName(state: number): PageStateName {
  switch (state) {
    case PageState.EMPTY:
      return 'empty';
    case PageState.ACTIVE:
      return 'active';
    case PageState.FULL:
      return 'full';
    case PageState.FREEING:
      return 'freeing';
    case PageState.CORRUPT:
      return 'corrupt';
    default:
      return 'invalid';
  }
}

/** The 32-byte header of a page. */
export function encodePageHeader(state: number, sequence: number, version: NvsFormatVersion): Buffer {
  const header = Buffer.alloc(32, 0xff);
  header.writeUInt32LE(state >>> 0, 0);
  header.writeUInt32LE(sequence >>> 0, 4);
  header[8] = versionByte(version);
  header.writeUInt32LE(nvsCrc32(header.subarray(4, 28)), 28);
  return header;
}

export interface PageHeader {
  state: number;
  stateName: PageStateName;
  sequence: number;
  /** The version byte as stored (0xFF = 1, 0xFE = 2). */
  versionByte: number;
  version: NvsFormatVersion | undefined;
  crc: number;
  crcOk: boolean;
}

/** Read the header of a page (at least 32 bytes). */
export function decodePageHeader(page: Uint8Array): PageHeader {
  const view = Buffer.from(page.buffer, page.byteOffset, 32);
  const state = view.readUInt32LE(0);
  const crc = view.readUInt32LE(28);
  const byte = view[8]!;
  return {
    state,
    stateName: pageStateName(state),
    sequence: view.readUInt32LE(4),
    versionByte: byte,
    version: byte === NvsVersion.V1 ? 1 : byte === NvsVersion.V2 ? 2 : undefined,
    crc,
    crcOk: nvsCrc32(view.subarray(4, 28)) === crc,
  };
}
