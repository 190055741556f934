/**
 * The manufacturing NVS of v3.1+ firmware (protocol doc §3) as a simple key-value model:
 * namespaces → keys → (type, bytes). It lives in the `mfg_nvs` partition of the flash image in a
 * serialisation of our own (NOT the ESP-IDF NVS page format), so state files keep it and an
 * AT+SYSFLASH erase of mfg_nvs clears it.
 *
 * Layout of the partition (all integers little-endian):
 * ```
 * 0   8  magic "ATMFGKV1"
 * 8   4  body length
 * 12  4  CRC-32 (IEEE) of the body
 * 16  …  body: records, then 0xFF up to the end of the partition
 * record = nsLen u8 | namespace | keyLen u8 | key | type u8 | valueLen u32 | value
 * ```
 * An all-0xFF partition is a valid empty store (as an erased NVS partition is). Anything else
 * that does not parse is "corrupt": the firmware's NVS init would have failed, so AT+SYSMFG
 * answers ERROR.
 */

/** AT+SYSMFG `<type>` codes: 1 u8, 2 i8, 3 u16, 4 i16, 5 u32, 6 i32, 7 string, 8 binary (blob). */
export const MfgType = {
  U8: 1,
  I8: 2,
  U16: 3,
  I16: 4,
  U32: 5,
  I32: 6,
  STRING: 7,
  BINARY: 8,
} as const;

export type MfgValueType = (typeof MfgType)[keyof typeof MfgType];
export type MfgNumericType = 1 | 2 | 3 | 4 | 5 | 6;

export function isMfgValueType(value: number): value is MfgValueType {
  return Number.isInteger(value) && value >= 1 && value <= 8;
}

export function isNumericType(type: MfgValueType): type is MfgNumericType {
  return type <= 6;
}

/** Stored width in bytes of a numeric type. */
export function numericWidth(type: MfgNumericType): 1 | 2 | 4 {
  return type <= 2 ? 1 : type <= 4 ? 2 : 4;
}

function isSigned(type: MfgNumericType): boolean {
  return type % 2 === 0;
}

/** The type's value of `value` truncated to its width (as the firmware's C casts do). */
export function truncateNumber(type: MfgNumericType, value: number): number {
  const bits = numericWidth(type) * 8;
  const v = Math.trunc(value);
  if (bits === 32) return isSigned(type) ? v | 0 : v >>> 0;
  const masked = ((v % 2 ** bits) + 2 ** bits) % 2 ** bits;
  return isSigned(type) && masked >= 2 ** (bits - 1) ? masked - 2 ** bits : masked;
}

/** Little-endian bytes of a numeric value (truncated to the type's width). */
export function encodeNumber(type: MfgNumericType, value: number): Buffer {
  const width = numericWidth(type);
  const out = Buffer.alloc(width);
  const v = truncateNumber(type, value);
  if (isSigned(type)) out.writeIntLE(v, 0, width);
  else out.writeUIntLE(v, 0, width);
  return out;
}

export function decodeNumber(type: MfgNumericType, bytes: Uint8Array): number {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const width = numericWidth(type);
  if (buf.length !== width) throw new RangeError(`type ${type} needs ${width} bytes, got ${buf.length}`);
  return isSigned(type) ? buf.readIntLE(0, width) : buf.readUIntLE(0, width);
}

/** One key as listed by `AT+SYSMFG=1,"<ns>"`. */
export interface MfgKeyInfo {
  readonly namespace: string;
  readonly key: string;
  readonly type: MfgValueType;
}

/** One stored value. */
export interface MfgItem extends MfgKeyInfo {
  /**
   * Stored bytes: the little-endian integer of the type's width (1/2/4) for types 1–6, the
   * string without any NUL for type 7, the blob for type 8.
   */
  readonly bytes: Buffer;
  /** Types 1–6: the value (signed types may be negative). */
  readonly number?: number;
  /** Types 7 (and 8, for convenience): the bytes as latin1 text. */
  readonly text?: string;
}

interface StoredValue {
  type: MfgValueType;
  bytes: Buffer;
}

const MAGIC = Buffer.from('ATMFGKV1', 'latin1');
const HEADER_BYTES = 16;

/** ESP-IDF NVS geometry, used only to estimate when the partition is full. */
const NVS_PAGE_BYTES = 4096;
const NVS_ENTRIES_PER_PAGE = 126;
const NVS_ENTRY_BYTES = 32;
/** Largest blob chunk one NVS page holds (multi-page blobs, NVS v2). */
const NVS_BLOB_CHUNK_BYTES = (NVS_ENTRIES_PER_PAGE - 1) * NVS_ENTRY_BYTES;

export class MfgStore {
  private readonly spaces = new Map<string, Map<string, StoredValue>>();

  /** Namespaces that hold at least one key, in creation order. */
  namespaces(): string[] {
    return [...this.spaces.keys()];
  }

  /** Keys of one namespace (or of all, namespace by namespace), in storage order. */
  keys(namespace?: string): MfgKeyInfo[] {
    const out: MfgKeyInfo[] = [];
    for (const [ns, keys] of this.spaces) {
      if (namespace !== undefined && ns !== namespace) continue;
      for (const [key, value] of keys) out.push({ namespace: ns, key, type: value.type });
    }
    return out;
  }

  get(namespace: string, key: string): MfgItem | undefined {
    const stored = this.spaces.get(namespace)?.get(key);
    if (!stored) return undefined;
    return describe(namespace, key, stored.type, stored.bytes);
  }

  /**
   * Store a value (replacing the key whatever its old type). Returns false when the stored value
   * was already identical (NVS then writes nothing). A changed key moves to the end of its
   * namespace, as NVS appends the new entry and erases the old one.
   */
  set(namespace: string, key: string, type: MfgValueType, bytes: Uint8Array): boolean {
    checkName('namespace', namespace);
    checkName('key', key);
    if (isNumericType(type) && bytes.length !== numericWidth(type)) {
      throw new RangeError(`type ${type} needs ${numericWidth(type)} bytes, got ${bytes.length}`);
    }
    let keys = this.spaces.get(namespace);
    const old = keys?.get(key);
    if (old && old.type === type && old.bytes.equals(bytes)) return false;
    if (!keys) {
      keys = new Map();
      this.spaces.set(namespace, keys);
    }
    keys.delete(key);
    keys.set(key, { type, bytes: Buffer.from(bytes) });
    return true;
  }

  /** Remove one key; false if it did not exist. */
  eraseKey(namespace: string, key: string): boolean {
    const keys = this.spaces.get(namespace);
    if (!keys?.delete(key)) return false;
    if (keys.size === 0) this.spaces.delete(namespace);
    return true;
  }

  /** Remove every key of a namespace; returns how many there were. */
  eraseNamespace(namespace: string): number {
    const count = this.spaces.get(namespace)?.size ?? 0;
    this.spaces.delete(namespace);
    return count;
  }

  /** Approximate number of 32-byte NVS entries the content would occupy. */
  nvsEntries(): number {
    let entries = 0;
    for (const keys of this.spaces.values()) {
      entries += 1; // the namespace entry
      for (const { type, bytes } of keys.values()) {
        if (isNumericType(type)) entries += 1;
        else if (type === MfgType.STRING) entries += 1 + Math.ceil((bytes.length + 1) / NVS_ENTRY_BYTES);
        else {
          // Blob index entry + one data entry per page-sized chunk + the data itself.
          const chunks = Math.max(1, Math.ceil(bytes.length / NVS_BLOB_CHUNK_BYTES));
          entries += 1 + chunks + Math.ceil(bytes.length / NVS_ENTRY_BYTES);
        }
      }
    }
    return entries;
  }

  /** True when the content fits an NVS partition of `partitionSize` bytes (one page kept free). */
  fits(partitionSize: number): boolean {
    const pages = Math.floor(partitionSize / NVS_PAGE_BYTES);
    const capacity = Math.max(0, pages - 1) * NVS_ENTRIES_PER_PAGE;
    return this.nvsEntries() <= capacity && this.serialisedSize() <= partitionSize;
  }

  serialisedSize(): number {
    let size = HEADER_BYTES;
    for (const [ns, keys] of this.spaces) {
      for (const [key, value] of keys) {
        size += 1 + Buffer.byteLength(ns, 'latin1') + 1 + Buffer.byteLength(key, 'latin1') + 1 + 4 + value.bytes.length;
      }
    }
    return size;
  }

  /** The partition image: header, records, then 0xFF up to `partitionSize`. */
  encode(partitionSize: number): Buffer {
    const parts: Buffer[] = [];
    for (const [ns, keys] of this.spaces) {
      const nsBytes = Buffer.from(ns, 'latin1');
      for (const [key, value] of keys) {
        const keyBytes = Buffer.from(key, 'latin1');
        const head = Buffer.alloc(1 + nsBytes.length + 1 + keyBytes.length + 1 + 4);
        let at = head.writeUInt8(nsBytes.length, 0);
        at += nsBytes.copy(head, at);
        at = head.writeUInt8(keyBytes.length, at);
        at += keyBytes.copy(head, at);
        at = head.writeUInt8(value.type, at);
        head.writeUInt32LE(value.bytes.length, at);
        parts.push(head, value.bytes);
      }
    }
    const body = Buffer.concat(parts);
    if (HEADER_BYTES + body.length > partitionSize) {
      throw new RangeError(`mfg store needs ${HEADER_BYTES + body.length} bytes, partition has ${partitionSize}`);
    }
    const image = Buffer.alloc(partitionSize, 0xff);
    MAGIC.copy(image, 0);
    image.writeUInt32LE(body.length, 8);
    image.writeUInt32LE(crc32(body), 12);
    body.copy(image, HEADER_BYTES);
    return image;
  }

  /** Parse a partition image: a store, or undefined when it is neither erased nor a valid store. */
  static decode(image: Uint8Array): MfgStore | undefined {
    const buf = Buffer.from(image.buffer, image.byteOffset, image.byteLength);
    if (buf.every((b) => b === 0xff)) return new MfgStore();
    if (buf.length < HEADER_BYTES || !buf.subarray(0, MAGIC.length).equals(MAGIC)) return undefined;
    const length = buf.readUInt32LE(8);
    if (HEADER_BYTES + length > buf.length) return undefined;
    const body = buf.subarray(HEADER_BYTES, HEADER_BYTES + length);
    if (crc32(body) !== buf.readUInt32LE(12)) return undefined;
    const store = new MfgStore();
    let at = 0;
    const take = (n: number): Buffer | undefined => {
      if (at + n > body.length) return undefined;
      const out = body.subarray(at, at + n);
      at += n;
      return out;
    };
    while (at < body.length) {
      const nsLen = take(1)?.[0];
      const ns = nsLen === undefined ? undefined : take(nsLen);
      const keyLen = take(1)?.[0];
      const key = keyLen === undefined ? undefined : take(keyLen);
      const type = take(1)?.[0];
      const valueLen = take(4)?.readUInt32LE(0);
      const value = valueLen === undefined ? undefined : take(valueLen);
      if (!ns || !key || type === undefined || !value || !isMfgValueType(type)) return undefined;
      try {
        store.set(ns.toString('latin1'), key.toString('latin1'), type, value);
      } catch {
        return undefined;
      }
    }
    return store;
  }
}

function describe(namespace: string, key: string, type: MfgValueType, bytes: Buffer): MfgItem {
  const copy = Buffer.from(bytes);
  if (isNumericType(type)) return { namespace, key, type, bytes: copy, number: decodeNumber(type, copy) };
  return { namespace, key, type, bytes: copy, text: copy.toString('latin1') };
}

function checkName(what: string, name: string): void {
  const length = Buffer.byteLength(name, 'latin1');
  if (length === 0 || length > 255) throw new RangeError(`${what} must be 1…255 bytes, got ${length}`);
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (IEEE 802.3, as zlib). */
export function crc32(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (let i = 0; i < data.length; i++) crc = CRC_TABLE[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
