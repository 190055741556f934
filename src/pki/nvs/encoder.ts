/**
 * Build an NVS partition image page by page, the way Espressif's nvs_partition_gen.py 0.2.0
 * (`generate`, no encryption) lays it out, so the same input gives the same bytes:
 *
 * - Pages are filled in order; each gets a header (ACTIVE, sequence = page number, version) and is
 *   marked FULL when the next one is started. Entries are marked written (0b10) in the bitmap.
 * - An integer takes one entry. A string (UTF-8 + NUL), or a blob of a version-1 image, takes a
 *   header entry plus one entry per 32 data bytes, all on one page: when it does not fit with at
 *   least one entry to spare (the generator's `>=`), it starts on a new page.
 * - Version 2 blobs are cut into chunks (BLOB_DATA, chunk index 0, 1…): each chunk fills what the
 *   current page has left after its header entry; a new page follows when data remains or fewer than
 *   32 bytes are left; then the BLOB_IDX entry (total size, chunk count, first chunk) goes where
 *   the writing stands.
 * - Then blank pages (0xFF) up to the size, the last of them the page NVS keeps free for garbage
 *   collection. A partition under 0x3000 bytes is read-only NVS: no free page, and the image ends
 *   after the last used page (as the generator writes it).
 */
import { InputError } from '../../errors.js';
import { blobIndexData, CHUNK_ANY, encodeEntry, INTEGER_TYPES, ItemType, NVS_MAX_KEY_LENGTH, varlenData, type IntegerTypeName } from './entry.js';
import { setEntryState } from './entry-states.js';
import {
  encodePageHeader,
  NVS_BITMAP_OFFSET,
  NVS_ENTRIES_PER_PAGE,
  NVS_ENTRY_SIZE,
  NVS_FIRST_ENTRY_OFFSET,
  NVS_PAGE_SIZE,
  PageState,
  type NvsFormatVersion,
} from './page-header.js';

/** What one key holds. Strings are given without their NUL (it is added). */
export type NvsValue =
  | { kind: 'integer'; type: IntegerTypeName; value: bigint }
  | { kind: 'string'; value: Buffer }
  | { kind: 'blob'; bytes: Buffer };

/** Largest value the generator accepts: a string (with NUL) in a version-2 image, any value in version 1. */
export const MAX_STRING_BYTES = 4000;
export const MAX_V1_BLOB_BYTES = 1984;
/** A string also has to leave one entry of its page free (the generator's page-full test): 124 data entries. */
export const MAX_FITTING_STRING_BYTES = (NVS_ENTRIES_PER_PAGE - 2) * NVS_ENTRY_SIZE;
/** Smallest partition with a free page (read/write NVS). */
export const MIN_READ_WRITE_SIZE = 3 * NVS_PAGE_SIZE;

export interface WrittenItem {
  namespace: string;
  key: string;
  type: 'namespace' | IntegerTypeName | 'string' | 'blob';
  /** Value bytes (string: with its NUL). */
  size: number;
  /** Page and entry of the first entry. */
  page: number;
  entry: number;
  /** Version-2 blobs: the number of BLOB_DATA chunks. */
  chunks?: number;
}

export interface NvsSizeCheck {
  bytes: number;
  /** Under 0x3000: read-only NVS, no reserved page. */
  readOnly: boolean;
}

/** The partition size rules of the generator: a multiple of 4096, at least one page. */
export function checkNvsSize(size: number): NvsSizeCheck {
  if (!Number.isSafeInteger(size) || size <= 0 || size % NVS_PAGE_SIZE !== 0) {
    throw new InputError(`NVS partition size ${size} is not a multiple of 4096 bytes`, { details: { size } });
  }
  return { bytes: size, readOnly: size < MIN_READ_WRITE_SIZE };
}

export class NvsImageBuilder {
  readonly version: NvsFormatVersion;
  readonly readOnly: boolean;
  readonly written: WrittenItem[] = [];
  readonly #size: number;
  readonly #pages: Buffer[] = [];
  /** Bytes not yet given to a page (the reserved page excluded). */
  #sizeLeft: number;
  #entry = 0;
  readonly #namespaces = new Map<string, number>();
  #namespace: { name: string; index: number } | undefined;

  constructor(size: number, version: NvsFormatVersion = 2) {
    const checked = checkNvsSize(size);
    this.#size = size;
    this.version = version;
    this.readOnly = checked.readOnly;
    this.#sizeLeft = checked.readOnly ? size : size - NVS_PAGE_SIZE;
    this.#newPage();
  }

  /** Pages started so far. */
  get pagesUsed(): number {
    return this.#pages.length;
  }

  /** Select a namespace for the next keys, writing its entry the first time. Returns its index. */
  namespace(name: string): number {
    checkKey(name, 'namespace');
    const known = this.#namespaces.get(name);
    if (known !== undefined) {
      this.#namespace = { name, index: known };
      return known;
    }
    const index = this.#namespaces.size + 1;
    if (index > 254) throw new InputError(`too many namespaces: NVS has 254`, { details: { namespace: name } });
    if (this.#entry >= NVS_ENTRIES_PER_PAGE) this.#newPage();
    this.written.push({ namespace: name, key: name, type: 'namespace', size: 1, page: this.#pages.length - 1, entry: this.#entry });
    this.#put(encodeEntry({ namespace: 0, type: ItemType.U8, span: 1, chunkIndex: CHUNK_ANY, key: name, data: integerData('u8', BigInt(index)) }), 1);
    this.#namespaces.set(name, index);
    this.#namespace = { name, index };
    return index;
  }

  /** Store a key in the current namespace. */
  set(key: string, value: NvsValue): void {
    checkKey(key, 'key');
    const ns = this.#namespace;
    if (!ns) throw new InputError(`key "${key}" comes before any namespace`, { details: { key } });
    switch (value.kind) {
      case 'integer': {
        const data = integerData(value.type, value.value);
        if (this.#entry >= NVS_ENTRIES_PER_PAGE) this.#newPage();
        this.written.push({ namespace: ns.name, key, type: value.type, size: INTEGER_TYPES[value.type].bytes, page: this.#pages.length - 1, entry: this.#entry });
        this.#put(encodeEntry({ namespace: ns.index, type: INTEGER_TYPES[value.type].code, span: 1, chunkIndex: CHUNK_ANY, key, data }), 1);
        return;
      }
      case 'string':
        this.#setVarlen(ns, key, Buffer.concat([value.value, Buffer.of(0)]), 'string');
        return;
      case 'blob':
        this.#setVarlen(ns, key, value.bytes, 'blob');
    }
  }

  /** The image: the pages written, blank pages up to the size, the reserved page. */
  finish(): Buffer {
    const pages = [...this.#pages];
    if (!this.readOnly) {
      for (let left = this.#sizeLeft; left > 0; left -= NVS_PAGE_SIZE) pages.push(Buffer.alloc(NVS_PAGE_SIZE, 0xff));
      pages.push(Buffer.alloc(NVS_PAGE_SIZE, 0xff));
    }
    return Buffer.concat(pages);
  }

  #setVarlen(ns: { name: string; index: number }, key: string, bytes: Buffer, kind: 'string' | 'blob'): void {
    const chunked = kind === 'blob' && this.version === 2;
    const limit = this.version === 1 ? MAX_V1_BLOB_BYTES : kind === 'string' ? MAX_STRING_BYTES : Infinity;
    if (bytes.length > limit) {
      throw new InputError(`${key}: ${bytes.length} bytes, more than the ${limit} a ${kind} may hold in a version ${this.version} NVS image`, { details: { key, size: bytes.length, limit } });
    }
    if (!chunked && bytes.length > MAX_FITTING_STRING_BYTES) {
      // The generator accepts up to 4000 but then fails (no page has room for header, data and a free entry).
      throw new InputError(`${key}: ${bytes.length} bytes${kind === 'string' ? ' (with the NUL)' : ''}; at most ${MAX_FITTING_STRING_BYTES} fit in one NVS page`, { details: { key, size: bytes.length, limit: MAX_FITTING_STRING_BYTES } });
    }
    const dataEntries = Math.ceil(bytes.length / NVS_ENTRY_SIZE);
    const full = this.#entry >= NVS_ENTRIES_PER_PAGE || (!chunked && this.#entry + dataEntries + 1 >= NVS_ENTRIES_PER_PAGE);
    if (full) this.#newPage();
    const item: WrittenItem = { namespace: ns.name, key, type: kind, size: bytes.length, page: this.#pages.length - 1, entry: this.#entry };
    this.written.push(item);
    if (!chunked) {
      const type = kind === 'string' ? ItemType.SZ : ItemType.BLOB;
      this.#put(encodeEntry({ namespace: ns.index, type, span: dataEntries + 1, chunkIndex: CHUNK_ANY, key, data: varlenData(bytes.length, bytes) }), 1);
      this.#put(bytes, dataEntries);
      return;
    }
    const chunkStart = 0;
    let chunks = 0;
    for (let offset = 0; ; ) {
      const tailroom = (NVS_ENTRIES_PER_PAGE - this.#entry - 1) * NVS_ENTRY_SIZE;
      const size = Math.min(tailroom, bytes.length - offset);
      const chunk = bytes.subarray(offset, offset + size);
      const entries = Math.ceil(size / NVS_ENTRY_SIZE);
      this.#put(encodeEntry({ namespace: ns.index, type: ItemType.BLOB_DATA, span: entries + 1, chunkIndex: chunkStart + chunks, key, data: varlenData(size, chunk) }), 1);
      this.#put(chunk, entries);
      chunks++;
      offset += size;
      if (offset < bytes.length || tailroom - size < NVS_ENTRY_SIZE) this.#newPage();
      if (offset === bytes.length) break;
    }
    if (chunks > 255 - chunkStart) throw new InputError(`${key}: ${bytes.length} bytes need ${chunks} chunks, more than NVS counts`, { details: { key } });
    this.#put(encodeEntry({ namespace: ns.index, type: ItemType.BLOB_IDX, span: 1, chunkIndex: CHUNK_ANY, key, data: blobIndexData(bytes.length, chunks, chunkStart) }), 1);
    item.chunks = chunks;
  }

  /** Copy `bytes` at the current entry and mark `count` entries written. */
  #put(bytes: Uint8Array, count: number): void {
    const page = this.#pages[this.#pages.length - 1]!;
    page.set(bytes, NVS_FIRST_ENTRY_OFFSET + this.#entry * NVS_ENTRY_SIZE);
    const bitmap = page.subarray(NVS_BITMAP_OFFSET, NVS_FIRST_ENTRY_OFFSET);
    for (let i = 0; i < count; i++) setEntryState(bitmap, this.#entry++, 'written');
  }

  #newPage(): void {
    const current = this.#pages[this.#pages.length - 1];
    if (current && current.readUInt32LE(0) === PageState.ACTIVE) current.writeUInt32LE(PageState.FULL, 0);
    if (this.#sizeLeft === 0) {
      throw new InputError(`the data does not fit in ${this.#size} bytes (0x${this.#size.toString(16)}) of NVS${this.readOnly ? '' : ', one page of which stays free'}: give a larger size`, {
        details: { size: this.#size },
      });
    }
    this.#sizeLeft -= NVS_PAGE_SIZE;
    const page = Buffer.alloc(NVS_PAGE_SIZE, 0xff);
    encodePageHeader(PageState.ACTIVE, this.#pages.length, this.version).copy(page, 0);
    this.#pages.push(page);
    this.#entry = 0;
  }
}

/** The 8 data bytes of an integer entry; InputError when the value does not fit the type. */
export function integerData(type: IntegerTypeName, value: bigint): Buffer {
  const { bytes, signed } = INTEGER_TYPES[type];
  const bits = BigInt(bytes * 8);
  const min = signed ? -(1n << (bits - 1n)) : 0n;
  const max = signed ? (1n << (bits - 1n)) - 1n : (1n << bits) - 1n;
  if (value < min || value > max) throw new InputError(`${value} does not fit in ${type} (${min} … ${max})`, { details: { type, value: String(value) } });
  const data = Buffer.alloc(8, 0xff);
  const unsigned = value < 0n ? value + (1n << bits) : value;
  for (let i = 0; i < bytes; i++) data[i] = Number((unsigned >> BigInt(8 * i)) & 0xffn);
  return data;
}

function checkKey(name: string, what: 'key' | 'namespace'): void {
  if (name.length === 0) throw new InputError(`empty ${what} name`, { details: { [what]: name } });
  if (!/^[\x20-\x7e]*$/.test(name)) throw new InputError(`${what} "${name}" has characters other than printable ASCII`, { details: { [what]: name } });
  if (name.length > NVS_MAX_KEY_LENGTH) throw new InputError(`${what} "${name}" is longer than ${NVS_MAX_KEY_LENGTH} characters`, { details: { [what]: name } });
}
