/**
 * Read an NVS partition image (or a read-back of one) the way the NVS library would load it, and
 * say everything about it: each page's state, sequence number, version and header CRC; every
 * entry, written or erased; the namespaces; the values (integers, strings, blobs in both layouts,
 * version-2 blobs reassembled from their chunks); and every problem (CRC mismatches, entries
 * that overrun their page, missing chunks, keys of unknown namespaces…). Garbage never throws:
 * only a length that is not whole pages does (InputError).
 */
import { InputError } from '../../errors.js';
import { decodeEntry, INTEGER_TYPES, integerTypeOf, itemTypeName, ItemType, type DecodedEntry, type IntegerTypeName } from './entry.js';
import { entryState, type EntryState } from './entry-states.js';
import { nvsCrc32 } from './crc.js';
import {
  decodePageHeader,
  NVS_BITMAP_OFFSET,
  NVS_ENTRIES_PER_PAGE,
  NVS_ENTRY_SIZE,
  NVS_FIRST_ENTRY_OFFSET,
  NVS_PAGE_SIZE,
  type NvsFormatVersion,
  type PageStateName,
} from './page-header.js';

export interface NvsPageInfo {
  index: number;
  offset: number;
  /** `blank`: all 0xFF (never initialised). */
  state: PageStateName | 'blank';
  stateValue: number;
  sequence?: number;
  version?: NvsFormatVersion;
  headerCrcOk?: boolean;
  entries: Record<EntryState, number>;
}

export type NvsItemType = IntegerTypeName | 'string' | 'blob';

export interface NvsItem {
  /** Namespace name; undefined when no entry defines its index. */
  namespace: string | undefined;
  namespaceIndex: number;
  key: string;
  type: NvsItemType;
  /** Where its (first) entry is. */
  page: number;
  entry: number;
  /** Value bytes: integer width, string with its NUL, blob length. */
  size: number;
  /** Integers. */
  value?: bigint;
  /** Strings (without the NUL) and blobs; absent when a CRC failed or a chunk is missing. */
  bytes?: Buffer;
  /** Blobs: `single` = one entry (version 1 layout), `chunked` = BLOB_IDX + BLOB_DATA (version 2). */
  blobLayout?: 'single' | 'chunked';
  chunks?: number;
  /** False when the value cannot be read back whole (a CRC, a chunk). */
  readable: boolean;
}

export interface NvsErasedEntry {
  page: number;
  entry: number;
  /** Erased item entries whose header still reads cleanly. */
  key?: string;
  namespaceIndex?: number;
  type?: string;
  span: number;
}

export interface NvsProblem {
  severity: 'error' | 'warning';
  message: string;
  page?: number;
  entry?: number;
}

export interface NvsNamespace {
  index: number;
  name: string;
  page: number;
  entry: number;
}

export interface DecodedNvs {
  size: number;
  pages: NvsPageInfo[];
  version: NvsFormatVersion | undefined;
  namespaces: NvsNamespace[];
  /** Values in the order the library finds them (pages by sequence number, entries in order). */
  items: NvsItem[];
  erased: NvsErasedEntry[];
  problems: NvsProblem[];
  /** No error problem. */
  valid: boolean;
}

interface ChunkEntry {
  entry: DecodedEntry;
  page: number;
  index: number;
  bytes: Buffer | undefined;
  claimed: boolean;
}

/** Decode an image of whole 4096-byte pages. */
export function decodeNvs(image: Uint8Array): DecodedNvs {
  if (image.length === 0 || image.length % NVS_PAGE_SIZE !== 0) {
    throw new InputError(`${image.length} bytes is not a whole number of 4096-byte NVS pages`, { details: { size: image.length } });
  }
  const bytes = Buffer.from(image.buffer, image.byteOffset, image.byteLength);
  const problems: NvsProblem[] = [];
  const pages: NvsPageInfo[] = [];
  const namespaces: NvsNamespace[] = [];
  const erased: NvsErasedEntry[] = [];
  const pending: { item: NvsItem; order: number }[] = [];
  const chunks: ChunkEntry[] = [];
  const indexes: { entry: DecodedEntry; page: number; index: number; order: number }[] = [];
  const versions = new Set<NvsFormatVersion>();

  for (let p = 0; p < bytes.length / NVS_PAGE_SIZE; p++) {
    const page = bytes.subarray(p * NVS_PAGE_SIZE, (p + 1) * NVS_PAGE_SIZE);
    const info = readPage(page, p, problems);
    pages.push(info);
    if (info.state === 'blank' || info.state === 'invalid' || info.state === 'corrupt' || info.state === 'empty' || info.headerCrcOk === false) continue;
    if (info.version !== undefined) versions.add(info.version);
    const order = (info.sequence ?? 0) * NVS_ENTRIES_PER_PAGE;
    const bitmap = page.subarray(NVS_BITMAP_OFFSET, NVS_FIRST_ENTRY_OFFSET);
    const at = { page: p };
    for (let i = 0; i < NVS_ENTRIES_PER_PAGE; ) {
      const state = entryState(bitmap, i);
      if (state === 'empty') {
        i++;
        continue;
      }
      const entry = decodeEntry(page.subarray(NVS_FIRST_ENTRY_OFFSET + i * NVS_ENTRY_SIZE));
      if (state === 'illegal') {
        problems.push({ severity: 'warning', message: `page ${p} entry ${i}: state bits 01, which NVS never writes (taken as erased)`, page: p, entry: i });
      }
      if (state === 'erased' || state === 'illegal') {
        i += recordErased(entry, bitmap, p, i, erased);
        continue;
      }
      const span = entry.span;
      if (!entry.crcOk) {
        problems.push({ severity: 'error', message: `page ${p} entry ${i}: entry CRC mismatch (key ${JSON.stringify(entry.key)}); the NVS library drops it`, ...at, entry: i });
        i++;
        continue;
      }
      if (span === 0 || i + span > NVS_ENTRIES_PER_PAGE) {
        problems.push({ severity: 'error', message: `page ${p} entry ${i}: span ${span} does not fit the page (key ${JSON.stringify(entry.key)})`, ...at, entry: i });
        i++;
        continue;
      }
      for (let k = 1; k < span; k++) {
        if (entryState(bitmap, i + k) !== 'written') {
          problems.push({ severity: 'error', message: `page ${p} entry ${i + k}: data entry of ${JSON.stringify(entry.key)} is not marked written`, ...at, entry: i + k });
          break;
        }
      }
      if (!entry.keyTerminated) problems.push({ severity: 'error', message: `page ${p} entry ${i}: key without a NUL within 16 bytes`, ...at, entry: i });
      const payload = page.subarray(NVS_FIRST_ENTRY_OFFSET + (i + 1) * NVS_ENTRY_SIZE, NVS_FIRST_ENTRY_OFFSET + (i + span) * NVS_ENTRY_SIZE);
      readItem(entry, payload, p, i, order + i, { problems, namespaces, pending, chunks, indexes });
      i += span;
    }
  }

  assembleBlobs(chunks, indexes, pending, problems);
  const names = new Map(namespaces.map((ns) => [ns.index, ns.name]));
  const items = pending
    .sort((a, b) => a.order - b.order)
    .map(({ item }) => {
      const name = names.get(item.namespaceIndex);
      if (name === undefined) {
        problems.push({ severity: 'error', message: `page ${item.page} entry ${item.entry}: key ${JSON.stringify(item.key)} belongs to namespace index ${item.namespaceIndex}, which no entry defines`, page: item.page, entry: item.entry });
      }
      return { ...item, namespace: name };
    });
  const seen = new Set<string>();
  for (const item of items) {
    const id = `${item.namespaceIndex}/${item.key}`;
    if (seen.has(id)) problems.push({ severity: 'warning', message: `${item.namespace ?? item.namespaceIndex}/${item.key} is written twice (an interrupted update); the library keeps one`, page: item.page, entry: item.entry });
    seen.add(id);
  }
  if (versions.size > 1) problems.push({ severity: 'error', message: 'pages of both NVS format versions (1 and 2)' });
  const version = versions.size === 1 ? [...versions][0] : undefined;
  return { size: bytes.length, pages, version, namespaces, items, erased, problems, valid: !problems.some((problem) => problem.severity === 'error') };
}

function readPage(page: Buffer, p: number, problems: NvsProblem[]): NvsPageInfo {
  const counts: Record<EntryState, number> = { empty: 0, written: 0, erased: 0, illegal: 0 };
  const bitmap = page.subarray(NVS_BITMAP_OFFSET, NVS_FIRST_ENTRY_OFFSET);
  for (let i = 0; i < NVS_ENTRIES_PER_PAGE; i++) counts[entryState(bitmap, i)]++;
  const offset = p * NVS_PAGE_SIZE;
  if (page.every((byte) => byte === 0xff)) return { index: p, offset, state: 'blank', stateValue: 0xffffffff, entries: counts };
  const header = decodePageHeader(page);
  const info: NvsPageInfo = { index: p, offset, state: header.stateName, stateValue: header.state, sequence: header.sequence, headerCrcOk: header.crcOk, entries: counts };
  if (header.version !== undefined) info.version = header.version;
  const at = { page: p };
  if (header.stateName === 'invalid') {
    problems.push({ severity: 'error', message: `page ${p}: state 0x${header.state.toString(16).padStart(8, '0')} is not an NVS page state`, ...at });
  } else if (header.stateName === 'corrupt') {
    problems.push({ severity: 'warning', message: `page ${p}: marked corrupt by the NVS library (its entries are not used)`, ...at });
  } else if (header.stateName === 'empty') {
    problems.push({ severity: 'error', message: `page ${p}: state empty, but the page is not erased`, ...at });
  } else if (!header.crcOk) {
    problems.push({ severity: 'error', message: `page ${p}: header CRC mismatch; the NVS library would not use this page`, ...at });
  } else if (header.version === undefined) {
    problems.push({ severity: 'error', message: `page ${p}: unknown format version byte 0x${header.versionByte.toString(16)}`, ...at });
  }
  return info;
}

/** An erased entry: with a clean header and all its span erased, the whole item; else one entry. */
function recordErased(entry: DecodedEntry, bitmap: Uint8Array, p: number, i: number, erased: NvsErasedEntry[]): number {
  const span = entry.span;
  const whole = entry.crcOk && span >= 1 && i + span <= NVS_ENTRIES_PER_PAGE && Array.from({ length: span - 1 }, (_, k) => entryState(bitmap, i + 1 + k)).every((state) => state === 'erased');
  if (!whole) {
    erased.push({ page: p, entry: i, span: 1 });
    return 1;
  }
  erased.push({ page: p, entry: i, key: entry.key, namespaceIndex: entry.namespace, type: entry.namespace === 0 ? 'namespace' : itemTypeName(entry.type), span });
  return span;
}

interface Collect {
  problems: NvsProblem[];
  namespaces: NvsNamespace[];
  pending: { item: NvsItem; order: number }[];
  chunks: ChunkEntry[];
  indexes: { entry: DecodedEntry; page: number; index: number; order: number }[];
}

function readItem(entry: DecodedEntry, payload: Buffer, page: number, index: number, order: number, c: Collect): void {
  const at = { page, entry: index };
  const where = `page ${page} entry ${index}`;
  if (entry.namespace === 0) {
    if (entry.type !== ItemType.U8 || entry.span !== 1) {
      c.problems.push({ severity: 'error', message: `${where}: namespace entry ${JSON.stringify(entry.key)} is not a u8`, ...at });
      return;
    }
    const nsIndex = entry.data[0]!;
    const clash = c.namespaces.find((ns) => ns.index === nsIndex || ns.name === entry.key);
    if (clash) c.problems.push({ severity: 'error', message: `${where}: namespace ${JSON.stringify(entry.key)} (index ${nsIndex}) clashes with ${JSON.stringify(clash.name)} (index ${clash.index})`, ...at });
    else c.namespaces.push({ index: nsIndex, name: entry.key, page, entry: index });
    return;
  }
  if (entry.namespace === 0xff) {
    c.problems.push({ severity: 'error', message: `${where}: namespace index 255 is not valid`, ...at });
    return;
  }
  const base = { namespace: undefined, namespaceIndex: entry.namespace, key: entry.key, page, entry: index };
  const integer = integerTypeOf(entry.type);
  if (integer !== undefined) {
    if (entry.span !== 1) c.problems.push({ severity: 'error', message: `${where}: ${integer} ${JSON.stringify(entry.key)} spans ${entry.span} entries`, ...at });
    c.pending.push({ item: { ...base, type: integer, size: INTEGER_TYPES[integer].bytes, value: readInteger(entry.data, integer), readable: true }, order });
    return;
  }
  switch (entry.type) {
    case ItemType.SZ:
    case ItemType.BLOB:
    case ItemType.BLOB_DATA: {
      const data = Buffer.from(entry.data);
      const size = data.readUInt16LE(0);
      const expectedSpan = Math.ceil(size / NVS_ENTRY_SIZE) + 1;
      let value: Buffer | undefined;
      if (expectedSpan !== entry.span) {
        c.problems.push({ severity: 'error', message: `${where}: ${JSON.stringify(entry.key)} has ${size} data bytes but spans ${entry.span} entries (${expectedSpan} expected)`, ...at });
      } else if (nvsCrc32(payload.subarray(0, size)) !== data.readUInt32LE(4)) {
        c.problems.push({ severity: 'error', message: `${where}: data CRC mismatch for ${JSON.stringify(entry.key)}`, ...at });
      } else {
        value = Buffer.from(payload.subarray(0, size));
      }
      if (entry.type === ItemType.BLOB_DATA) {
        c.chunks.push({ entry, page, index, bytes: value, claimed: false });
        return;
      }
      const item: NvsItem = { ...base, type: entry.type === ItemType.SZ ? 'string' : 'blob', size, readable: value !== undefined };
      if (entry.type === ItemType.BLOB) {
        item.blobLayout = 'single';
        if (value) item.bytes = value;
      } else if (value) {
        if (value[value.length - 1] !== 0) {
          c.problems.push({ severity: 'error', message: `${where}: string ${JSON.stringify(entry.key)} does not end in NUL`, ...at });
          item.bytes = value;
        } else {
          item.bytes = value.subarray(0, value.length - 1);
        }
      }
      c.pending.push({ item, order });
      return;
    }
    case ItemType.BLOB_IDX:
      if (entry.span !== 1) c.problems.push({ severity: 'error', message: `${where}: blob index ${JSON.stringify(entry.key)} spans ${entry.span} entries`, ...at });
      c.indexes.push({ entry, page, index, order });
      return;
    default:
      c.problems.push({ severity: 'error', message: `${where}: unknown entry type ${itemTypeName(entry.type)} (key ${JSON.stringify(entry.key)})`, ...at });
  }
}

function readInteger(data: Uint8Array, type: IntegerTypeName): bigint {
  const { bytes, signed } = INTEGER_TYPES[type];
  let value = 0n;
  for (let i = bytes - 1; i >= 0; i--) value = (value << 8n) | BigInt(data[i]!);
  const bits = BigInt(bytes * 8);
  return signed && value >= 1n << (bits - 1n) ? value - (1n << bits) : value;
}

/** Version-2 blobs: each BLOB_IDX gathers its chunks; chunks nobody claims are reported. */
function assembleBlobs(chunks: ChunkEntry[], indexes: Collect['indexes'], pending: Collect['pending'], problems: NvsProblem[]): void {
  for (const { entry, page, index, order } of indexes) {
    const data = Buffer.from(entry.data);
    const size = data.readUInt32LE(0);
    const count = data[4]!;
    const start = data[5]!;
    const where = `page ${page} entry ${index}`;
    const parts: Buffer[] = [];
    let complete = true;
    for (let k = 0; k < count; k++) {
      const chunk = chunks.find((candidate) => !candidate.claimed && candidate.entry.namespace === entry.namespace && candidate.entry.key === entry.key && candidate.entry.chunkIndex === start + k);
      if (!chunk) {
        problems.push({ severity: 'error', message: `${where}: blob ${JSON.stringify(entry.key)} lacks chunk ${start + k} of ${count}`, page, entry: index });
        complete = false;
        continue;
      }
      chunk.claimed = true;
      if (chunk.bytes) parts.push(chunk.bytes);
      else complete = false;
    }
    const bytes = Buffer.concat(parts);
    if (complete && bytes.length !== size) {
      problems.push({ severity: 'error', message: `${where}: blob ${JSON.stringify(entry.key)} chunks hold ${bytes.length} bytes, its index says ${size}`, page, entry: index });
      complete = false;
    }
    const item: NvsItem = { namespace: undefined, namespaceIndex: entry.namespace, key: entry.key, type: 'blob', page, entry: index, size, blobLayout: 'chunked', chunks: count, readable: complete };
    if (complete) item.bytes = bytes;
    pending.push({ item, order });
  }
  for (const chunk of chunks) {
    if (chunk.claimed) continue;
    problems.push({ severity: 'warning', message: `page ${chunk.page} entry ${chunk.index}: blob chunk ${chunk.entry.chunkIndex} of ${JSON.stringify(chunk.entry.key)} belongs to no blob index (left over; the library erases it)`, page: chunk.page, entry: chunk.index });
  }
}
