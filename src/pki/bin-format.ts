/**
 * ESP-AT's legacy PKI bin format: what `tools/AtPKI.py generate_bin` writes and what the firmware
 * reads from the `*_ca` / `*_cert` / `*_key` partitions. Pure: bytes in, bytes out.
 *
 * ```
 * header = magic F1 F1 | count u16 | length u32          (little-endian; length = file size - 8)
 * item   = type u8 | id u8 | content_len u16 | content | 0xFF padding to a multiple of 4
 * ```
 */
import { InputError } from '../errors.js';
import { describeItem, perTypeIndexes, PKI_TYPE_CODES, pkiTypeOfCode, type PkiItem, type PkiType } from './types.js';

export const PKI_BIN_MAGIC = 0xf1f1;
export const PKI_BIN_HEADER_SIZE = 8;
export const PKI_ITEM_HEADER_SIZE = 4;
/** content_len is 16 bits; AtPKI.py silently wraps anything longer. */
export const PKI_MAX_CONTENT_LENGTH = 0xffff;
/** The ID is one byte and counts per type; AtPKI.py silently wraps past 255. */
export const PKI_MAX_ITEMS_PER_TYPE = 256;
const PAD_BYTE = 0xff;

/** Bytes of 0xFF padding after `contentLength` bytes of content. */
export function pkiPaddingLength(contentLength: number): number {
  return (4 - (contentLength % 4)) % 4;
}

/** Where one input item lands in a bin. */
export interface PkiBinSlot {
  /** The input item. */
  item: PkiItem;
  /** Its position in the input list. */
  position: number;
  /** The ID byte: its index within its type. */
  id: number;
  /** Offset of its 4-byte item header from the start of the bin. */
  offset: number;
}

/**
 * The layout AtPKI.py gives a list of items: grouped by type (groups in the order each type first
 * appears), IDs counting from 0 within each type in input order. Returns the slots in bin order
 * and the bin size.
 *
 * Refuses (InputError) what AtPKI.py would silently corrupt: no items, empty content, content over
 * 65,535 bytes, more than 256 items of one type.
 */
export function layoutPkiBin(items: readonly PkiItem[]): { slots: PkiBinSlot[]; size: number } {
  if (items.length === 0) throw new InputError('no items to put in the PKI bin');
  const indexes = perTypeIndexes(items);
  const groups = new Map<PkiType, { item: PkiItem; position: number; id: number }[]>();
  items.forEach((item, position) => {
    if (!Object.hasOwn(PKI_TYPE_CODES, item.type)) {
      throw new InputError(`item ${position}: unknown item type '${String(item.type)}' (expected ca, cert or key)`);
    }
    const id = indexes[position]!;
    const label = describeItem({ type: item.type, index: id, source: item.source });
    if (item.content.length === 0) {
      throw new InputError(`${label} is empty`, { details: { item: position } });
    }
    if (item.content.length > PKI_MAX_CONTENT_LENGTH) {
      throw new InputError(
        `${label} is ${item.content.length} bytes; a PKI bin item holds at most ${PKI_MAX_CONTENT_LENGTH} bytes`,
        { details: { item: position, length: item.content.length } },
      );
    }
    if (id >= PKI_MAX_ITEMS_PER_TYPE) {
      throw new InputError(
        `more than ${PKI_MAX_ITEMS_PER_TYPE} items of type ${item.type}; the one-byte ID cannot number them`,
        { details: { type: item.type } },
      );
    }
    const group = groups.get(item.type) ?? [];
    group.push({ item, position, id });
    groups.set(item.type, group);
  });
  const slots: PkiBinSlot[] = [];
  let offset = PKI_BIN_HEADER_SIZE;
  for (const group of groups.values()) {
    for (const entry of group) {
      slots.push({ ...entry, offset });
      offset += PKI_ITEM_HEADER_SIZE + entry.item.content.length + pkiPaddingLength(entry.item.content.length);
    }
  }
  return { slots, size: offset };
}

/** Build a bin exactly as AtPKI.py does (see layoutPkiBin, which also lists what it refuses). */
export function encodePkiBin(items: readonly PkiItem[]): Buffer {
  const { slots, size } = layoutPkiBin(items);
  const out = Buffer.alloc(size, PAD_BYTE);
  out.writeUInt16LE(PKI_BIN_MAGIC, 0);
  out.writeUInt16LE(slots.length, 2);
  out.writeUInt32LE(size - PKI_BIN_HEADER_SIZE, 4);
  for (const { item, id, offset } of slots) {
    out.writeUInt8(PKI_TYPE_CODES[item.type], offset);
    out.writeUInt8(id, offset + 1);
    out.writeUInt16LE(item.content.length, offset + 2);
    out.set(item.content, offset + PKI_ITEM_HEADER_SIZE);
  }
  return out;
}

/** One item as found in a bin. */
export interface DecodedPkiItem {
  type: PkiType;
  /** The ID byte as stored (the firmware ignores it and pairs items by position). */
  id: number;
  /** A view into the input bytes (not a copy). */
  content: Uint8Array;
  /** Offset of the item's 4-byte header from the start of the bin. */
  offset: number;
}

export interface DecodedPkiBin {
  /** Items in stored order. */
  items: DecodedPkiItem[];
  /** Things that do not stop the firmware from reading the bin but look wrong. */
  warnings: string[];
  /** Size of the bin itself: 8 + the header's length field. Bytes after it are `trailingBytes`. */
  length: number;
  /** Bytes after the bin, e.g. the 0xFF rest of a partition read back from flash. */
  trailingBytes: number;
}

/** `offset 12 (0xc)`. */
export function formatOffset(offset: number): string {
  return `offset ${offset} (0x${offset.toString(16)})`;
}

function decodeError(message: string, offset: number): InputError {
  return new InputError(`${message} at ${formatOffset(offset)}`, { details: { offset } });
}

function isAllFF(bytes: Uint8Array): boolean {
  return bytes.every((byte) => byte === PAD_BYTE);
}

/**
 * Size of the bin at the start of `bytes` (8 + the header's length field), from the header alone:
 * how much of a partition read-back is the bin. Needs the 8 header bytes; throws InputError if they
 * are missing or do not start with the magic.
 */
export function pkiBinLength(bytes: Uint8Array): number {
  if (bytes.length < PKI_BIN_HEADER_SIZE) {
    throw decodeError(`truncated header: ${bytes.length} bytes, a PKI bin header is ${PKI_BIN_HEADER_SIZE}`, 0);
  }
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.readUInt16LE(0);
  if (magic !== PKI_BIN_MAGIC) {
    const hint = isAllFF(bytes.subarray(0, PKI_BIN_HEADER_SIZE)) ? ' — the data starts with 0xFF, like erased flash' : '';
    throw decodeError(`bad magic ${hex2(view[0]!)} ${hex2(view[1]!)} (expected F1 F1)${hint}`, 0);
  }
  return PKI_BIN_HEADER_SIZE + view.readUInt32LE(4);
}

function hex2(byte: number): string {
  return byte.toString(16).toUpperCase().padStart(2, '0');
}

/**
 * Parse a bin, checking it the way the firmware would need it to be. Throws InputError (message
 * naming the byte offset, `details.offset`) for a bad magic, a count or length that disagrees with
 * the items, a truncated item, or an unknown type byte.
 *
 * Bytes after the bin are accepted: silently if they are all 0xFF (a whole partition read back from
 * flash), with a warning otherwise.
 */
export function decodePkiBin(bytes: Uint8Array): DecodedPkiBin {
  const length = pkiBinLength(bytes);
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = view.readUInt16LE(2);
  if (length > bytes.length) {
    throw decodeError(
      `header length ${length - PKI_BIN_HEADER_SIZE} (at offset 4) needs ${length} bytes but the data is only ${bytes.length} bytes (truncated)`,
      bytes.length,
    );
  }
  const items: DecodedPkiItem[] = [];
  const warnings: string[] = [];
  let offset = PKI_BIN_HEADER_SIZE;
  while (items.length < count && offset < length) {
    const number = items.length;
    if (offset + PKI_ITEM_HEADER_SIZE > length) {
      throw decodeError(`item #${number}: truncated item header (${length - offset} of ${PKI_ITEM_HEADER_SIZE} bytes before the end of the bin)`, offset);
    }
    const typeCode = view[offset]!;
    const type = pkiTypeOfCode(typeCode);
    if (type === undefined) {
      throw decodeError(`item #${number}: unknown type 0x${hex2(typeCode)} (expected 01 ca, 02 cert or 03 key)`, offset);
    }
    const id = view[offset + 1]!;
    const contentLength = view.readUInt16LE(offset + 2);
    const contentStart = offset + PKI_ITEM_HEADER_SIZE;
    const padding = pkiPaddingLength(contentLength);
    const end = contentStart + contentLength + padding;
    if (end > length) {
      throw decodeError(
        `item #${number} (${type}): content length ${contentLength}${padding ? ` + ${padding} padding` : ''} runs to offset ${end}, past the end of the bin at ${length} (truncated item)`,
        offset,
      );
    }
    if (!isAllFF(view.subarray(contentStart + contentLength, end))) {
      warnings.push(`item #${number} (${type} ${id}): padding at ${formatOffset(contentStart + contentLength)} is not 0xFF`);
    }
    items.push({ type, id, content: bytes.subarray(contentStart, contentStart + contentLength), offset });
    offset = end;
  }
  if (items.length < count) {
    throw decodeError(
      `header says ${count} items (at offset 2) but its length ${length - PKI_BIN_HEADER_SIZE} (at offset 4) holds only ${items.length}`,
      offset,
    );
  }
  if (offset < length) {
    throw decodeError(
      `header says ${count} items (at offset 2) but its length ${length - PKI_BIN_HEADER_SIZE} (at offset 4) leaves ${length - offset} bytes after them`,
      offset,
    );
  }
  if (items.length === 0) warnings.push('the bin holds no items');
  const expected = perTypeIndexes(items);
  items.forEach((item, number) => {
    if (item.id !== expected[number]) {
      warnings.push(
        `item #${number} at ${formatOffset(item.offset)}: ${item.type} id ${item.id}, expected ${expected[number]} (IDs count from 0 per type; the firmware ignores them and pairs items by position)`,
      );
    }
  });
  const trailing = bytes.subarray(length);
  if (!isAllFF(trailing)) {
    warnings.push(`${trailing.length} bytes after the bin (from ${formatOffset(length)}) are not all 0xFF`);
  }
  return { items, warnings, length, trailingBytes: trailing.length };
}
