/**
 * The emulator's own NVS partition code (ESP-IDF "NVS internals"), independent of at-pki's codec
 * in src/pki/nvs (tests cross-check the two). It works on the partition bytes in place, the way
 * the NVS library does on flash: scan the pages, append entries at the write position of the
 * active page, mark entries erased by clearing their bitmap bits, start the next blank page when
 * one is full. Bits only go from 1 to 0 except through a fresh layout (`NvsAppender` on a blank
 * image), which stands in for the library's garbage collection.
 *
 * Page: state u32 | seq u32 | version u8 (0xFE) | 0xFF… | header CRC u32 @28 (of bytes 4…27);
 * bitmap (2 bits per entry: 11 empty, 10 written, 00 erased) @32; 126 entries of 32 bytes @64.
 * Entry: ns u8 | type u8 | span u8 | chunk u8 | CRC u32 (of bytes 0…3, 8…31) | key[16] | data[8].
 */
import { crc32 } from './crc32.js';

const PAGE = 4096;
const SLOTS = 126;
const SLOT = 32;
const FIRST = 64;
const STATE_ACTIVE = 0xfffffffe;
const STATE_FULL = 0xfffffffc;
const STATE_FREEING = 0xfffffff8;
const STATE_CORRUPT = 0xfffffff0;
const STATE_BLANK = 0xffffffff;
const VERSION_2 = 0xfe;

export const T_SZ = 0x21;
export const T_BLOB_V1 = 0x41;
export const T_BLOB_DATA = 0x42;
export const T_BLOB_INDEX = 0x48;

const nvsCrc = (bytes: Uint8Array): number => crc32(bytes, 0);

/** Where one item lives: [page, first entry, span] per span written. */
export type Slots = [number, number, number][];

export interface NvsRecord {
  ns: number;
  /** NVS type code; blobs (either layout) are reported as T_BLOB_DATA. */
  type: number;
  key: string;
  /** Integers: their width in bytes; strings: with the NUL; blobs: the data. */
  value: Buffer;
  slots: Slots;
  /** Sequence position of the entry that completes the item. */
  order: number;
  /** Blobs: the chunk index base (0 or 128), so a rewrite can use the other one. */
  chunkStart?: number;
}

export interface NvsScan {
  namespaces: Map<string, number>;
  records: NvsRecord[];
  activePage: number;
  nextEntry: number;
  nextSeq: number;
}

const INT_WIDTH: Readonly<Record<number, number>> = { 0x01: 1, 0x11: 1, 0x02: 2, 0x12: 2, 0x04: 4, 0x14: 4, 0x08: 8, 0x18: 8 };

function slotState(page: Buffer, index: number): number {
  return (page[SLOT + (index >> 2)]! >> ((index & 3) * 2)) & 3;
}

function clearBits(image: Buffer, at: number, bits: number): void {
  image[at] = image[at]! & ~bits;
}

function entryCrc(entry: Buffer): number {
  return nvsCrc(Buffer.concat([entry.subarray(0, 4), entry.subarray(8, 32)]));
}

/** Read a partition; undefined when a page is neither blank nor a page NVS could use (NVS init fails). */
export function scanNvs(image: Buffer): NvsScan | undefined {
  if (image.length % PAGE !== 0) return undefined;
  const namespaces = new Map<string, number>();
  const plain: NvsRecord[] = [];
  const chunks: { ns: number; key: string; chunk: number; data: Buffer; slot: Slots[number] }[] = [];
  const indexes: { ns: number; key: string; size: number; count: number; start: number; slot: Slots[number]; order: number }[] = [];
  let activePage = -1;
  let activeSeq = -1;
  let nextEntry = 0;
  let nextSeq = 0;
  for (let p = 0; p * PAGE < image.length; p++) {
    const page = image.subarray(p * PAGE, (p + 1) * PAGE);
    const state = page.readUInt32LE(0);
    if (state === STATE_BLANK && page.every((b) => b === 0xff)) continue;
    if (state === STATE_CORRUPT) continue;
    if (state !== STATE_ACTIVE && state !== STATE_FULL && state !== STATE_FREEING) return undefined;
    if (nvsCrc(page.subarray(4, 28)) !== page.readUInt32LE(28)) return undefined;
    const seq = page.readUInt32LE(4);
    nextSeq = Math.max(nextSeq, seq + 1);
    let used = 0;
    for (let i = 0; i < SLOTS; ) {
      const bits = slotState(page, i);
      if (bits !== 3) used = i + 1;
      if (bits !== 2) {
        i++;
        continue;
      }
      const entry = page.subarray(FIRST + i * SLOT, FIRST + (i + 1) * SLOT);
      const span = entry[2]!;
      if (entryCrc(entry) !== entry.readUInt32LE(4) || span < 1 || i + span > SLOTS) {
        i++;
        continue;
      }
      used = i + span;
      const [ns, type, , chunk] = entry;
      const key = entry.subarray(8, 24).toString('latin1').replace(/\0.*$/s, '');
      const slot: Slots[number] = [p, i, span];
      const order = seq * SLOTS + i;
      const payload = (size: number): Buffer | undefined => {
        const data = page.subarray(FIRST + (i + 1) * SLOT, FIRST + (i + 1) * SLOT + size);
        return size <= (span - 1) * SLOT && nvsCrc(data) === entry.readUInt32LE(28) ? Buffer.from(data) : undefined;
      };
      if (ns === 0) namespaces.set(key, entry[24]!);
      else if (INT_WIDTH[type!] !== undefined) plain.push({ ns: ns!, type: type!, key, value: Buffer.from(entry.subarray(24, 24 + INT_WIDTH[type!]!)), slots: [slot], order });
      else if (type === T_SZ || type === T_BLOB_V1) {
        const data = payload(entry.readUInt16LE(24));
        if (data) plain.push({ ns: ns!, type: type === T_SZ ? T_SZ : T_BLOB_DATA, key, value: data, slots: [slot], order });
      } else if (type === T_BLOB_DATA) {
        const data = payload(entry.readUInt16LE(24));
        if (data) chunks.push({ ns: ns!, key, chunk: chunk!, data, slot });
      } else if (type === T_BLOB_INDEX) {
        indexes.push({ ns: ns!, key, size: entry.readUInt32LE(24), count: entry[28]!, start: entry[29]!, slot, order });
      }
      i += span;
    }
    if (state === STATE_ACTIVE && seq > activeSeq) {
      activeSeq = seq;
      activePage = p;
      nextEntry = used;
    }
  }
  const blobs: NvsRecord[] = [];
  for (const index of indexes) {
    const parts = Array.from({ length: index.count }, (_, k) => chunks.find((c) => c.ns === index.ns && c.key === index.key && c.chunk === index.start + k));
    if (parts.some((part) => part === undefined)) continue;
    const value = Buffer.concat(parts.map((part) => part!.data));
    if (value.length !== index.size) continue;
    blobs.push({ ns: index.ns, type: T_BLOB_DATA, key: index.key, value, slots: [...parts.map((part) => part!.slot), index.slot], order: index.order, chunkStart: index.start });
  }
  const records = [...plain, ...blobs].sort((a, b) => a.order - b.order);
  return { namespaces, records, activePage, nextEntry, nextSeq };
}

/** Appends items to a partition image in place (NVS write order: new entries first, then erase the old ones). */
export class NvsAppender {
  private page: number;
  private entry: number;
  private seq: number;

  constructor(
    private readonly image: Buffer,
    scan: Pick<NvsScan, 'activePage' | 'nextEntry' | 'nextSeq'> = { activePage: -1, nextEntry: SLOTS, nextSeq: 0 },
  ) {
    this.page = scan.activePage;
    this.entry = scan.activePage < 0 ? SLOTS : scan.nextEntry;
    this.seq = scan.nextSeq;
  }

  /** Returns the slots written, or undefined when the partition has no room (one blank page always stays free). */
  namespace(name: string, index: number): Slots | undefined {
    const data = Buffer.alloc(8, 0xff);
    data[0] = index;
    return this.span(0, 0x01, 0xff, name, data, Buffer.alloc(0));
  }

  integer(ns: number, type: number, key: string, le: Buffer): Slots | undefined {
    const data = Buffer.alloc(8, 0xff);
    le.copy(data);
    return this.span(ns, type, 0xff, key, data, Buffer.alloc(0));
  }

  string(ns: number, key: string, withNul: Buffer): Slots | undefined {
    return this.span(ns, T_SZ, 0xff, key, sizedData(withNul), withNul);
  }

  /** A multipage blob: chunks filling each page, then the index. */
  blob(ns: number, key: string, value: Buffer, chunkStart: number): Slots | undefined {
    const slots: Slots = [];
    let offset = 0;
    let count = 0;
    do {
      if (SLOTS - this.entry < 2 && !this.nextPage()) return undefined;
      const room = (SLOTS - this.entry - 1) * SLOT;
      const part = value.subarray(offset, offset + room);
      const written = this.span(ns, T_BLOB_DATA, chunkStart + count, key, sizedData(part), part);
      if (!written) return undefined;
      slots.push(...written);
      offset += part.length;
      count++;
    } while (offset < value.length);
    const index = Buffer.alloc(8, 0xff);
    index.writeUInt32LE(value.length, 0);
    index[4] = count;
    index[5] = chunkStart;
    const last = this.span(ns, T_BLOB_INDEX, 0xff, key, index, Buffer.alloc(0));
    return last ? [...slots, ...last] : undefined;
  }

  /** Mark every entry of the slots erased (bits 10 → 00). */
  erase(slots: Slots): void {
    for (const [page, first, span] of slots) {
      for (let i = first; i < first + span; i++) clearBits(this.image, page * PAGE + SLOT + (i >> 2), 2 << ((i & 3) * 2));
    }
  }

  private span(ns: number, type: number, chunk: number, key: string, data: Buffer, payload: Buffer): Slots | undefined {
    const span = 1 + Math.ceil(payload.length / SLOT);
    if (this.entry + span > SLOTS && !this.nextPage()) return undefined;
    if (this.entry + span > SLOTS) return undefined;
    const entry = Buffer.alloc(SLOT, 0xff);
    entry[0] = ns;
    entry[1] = type;
    entry[2] = span;
    entry[3] = chunk;
    entry.fill(0, 8, 24);
    entry.write(key, 8, 15, 'latin1');
    data.copy(entry, 24);
    entry.writeUInt32LE(entryCrc(entry), 4);
    const base = this.page * PAGE;
    this.program(base + FIRST + this.entry * SLOT, Buffer.concat([entry, payload]));
    for (let i = this.entry; i < this.entry + span; i++) clearBits(this.image, base + SLOT + (i >> 2), 1 << ((i & 3) * 2));
    const at: Slots = [[this.page, this.entry, span]];
    this.entry += span;
    return at;
  }

  /** Close the active page (FULL) and open the next blank one after it, keeping one blank page in reserve. */
  private nextPage(): boolean {
    const pages = this.image.length / PAGE;
    const blank: number[] = [];
    for (let k = 1; k <= pages; k++) {
      const p = (Math.max(this.page, 0) + k) % pages;
      if (p !== this.page && this.image.subarray(p * PAGE, (p + 1) * PAGE).every((b) => b === 0xff)) blank.push(p);
    }
    if (blank.length < 2) return false;
    if (this.page >= 0) this.image.writeUInt32LE((this.image.readUInt32LE(this.page * PAGE) & STATE_FULL) >>> 0, this.page * PAGE);
    const next = this.page < 0 ? blank.sort((a, b) => a - b)[0]! : blank[0]!;
    const header = Buffer.alloc(32, 0xff);
    header.writeUInt32LE(STATE_ACTIVE, 0);
    header.writeUInt32LE(this.seq++, 4);
    header[8] = VERSION_2;
    header.writeUInt32LE(nvsCrc(header.subarray(4, 28)), 28);
    this.program(next * PAGE, header);
    this.page = next;
    this.entry = 0;
    return true;
  }

  /** NOR programming: bits can only be cleared. */
  private program(at: number, bytes: Buffer): void {
    for (let i = 0; i < bytes.length; i++) this.image[at + i] = this.image[at + i]! & bytes[i]!;
  }
}

function sizedData(payload: Buffer): Buffer {
  const data = Buffer.alloc(8, 0xff);
  data.writeUInt16LE(payload.length, 0);
  data.writeUInt32LE(nvsCrc(payload), 4);
  return data;
}
