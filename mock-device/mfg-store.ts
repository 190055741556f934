/**
 * The manufacturing NVS of v3.1+ firmware (protocol doc §3): namespaces → keys → (type, bytes),
 * kept in the `mfg_nvs` partition as a real ESP-IDF NVS partition (nvs-flash.ts), so a read-back of
 * the partition is what a module holds, state files keep it, an AT+SYSFLASH erase clears it and an
 * image written whole with AT+SYSFLASH is what AT+SYSMFG then reads.
 *
 * Changes go to flash as the NVS library makes them: a new value is appended at the write position
 * and the old one's entries are then marked erased; a namespace gets its entry the first time. When
 * the partition has no room left (one blank page always stays free), the live values are laid out
 * afresh, which stands in for the library's garbage collection. An all-0xFF partition is an empty
 * store; a page NVS could not use makes the store "corrupt": the firmware's NVS init would have
 * failed, so AT+SYSMFG answers ERROR.
 */
import { crc32 } from './crc32.js';
import { NvsAppender, scanNvs, T_BLOB_DATA, T_SZ, type Slots } from './nvs-flash.js';

export { crc32 };

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
   * string without its NUL for type 7, the blob for type 8.
   */
  readonly bytes: Buffer;
  /** Types 1–6: the value (signed types may be negative). */
  readonly number?: number;
  /** Types 7 (and 8, for convenience): the bytes as latin1 text. */
  readonly text?: string;
}

interface StoredValue {
  /** Undefined for NVS types AT+SYSMFG has no code for (u64, i64): kept, never listed. */
  type: MfgValueType | undefined;
  nvsType: number;
  bytes: Buffer;
  /** Where it is in the partition image (when the store has one). */
  slots?: Slots;
  chunkStart?: number;
}

/** AT+SYSMFG type → NVS type (`s_at_nvs_type_map`, protocol §3.2). */
const NVS_TYPE: Readonly<Record<MfgValueType, number>> = { 1: 0x01, 2: 0x11, 3: 0x02, 4: 0x12, 5: 0x04, 6: 0x14, 7: T_SZ, 8: T_BLOB_DATA };
/** Longest namespace/key NVS stores (16 bytes with the NUL). */
const NVS_NAME_MAX = 15;

export class MfgStore {
  private readonly spaces = new Map<string, Map<string, StoredValue>>();
  /** The partition image the store lives in; undefined until encode() lays one out. */
  private image: Buffer | undefined;
  private appender: NvsAppender | undefined;
  /** NVS namespace indexes, including those of namespaces whose keys were all erased. */
  private nsIndex = new Map<string, number>();
  /** A change did not fit the partition: it must not be saved. */
  private overflow = false;

  /** Namespaces that hold at least one key, in creation order. */
  namespaces(): string[] {
    return [...this.spaces].filter(([, keys]) => [...keys.values()].some((value) => value.type !== undefined)).map(([ns]) => ns);
  }

  /** Keys of one namespace (or of all, namespace by namespace), in storage order. */
  keys(namespace?: string): MfgKeyInfo[] {
    const out: MfgKeyInfo[] = [];
    for (const [ns, keys] of this.spaces) {
      if (namespace !== undefined && ns !== namespace) continue;
      for (const [key, value] of keys) if (value.type !== undefined) out.push({ namespace: ns, key, type: value.type });
    }
    return out;
  }

  get(namespace: string, key: string): MfgItem | undefined {
    const stored = this.spaces.get(namespace)?.get(key);
    if (!stored || stored.type === undefined) return undefined;
    return describe(namespace, key, stored.type, stored.bytes);
  }

  /**
   * Store a value (replacing the key whatever its old type). Returns false when the stored value
   * was already identical (NVS then writes nothing). A changed key moves to the end of its
   * namespace: NVS appends the new entry and erases the old one.
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
    const value: StoredValue = { type, nvsType: NVS_TYPE[type], bytes: Buffer.from(bytes) };
    keys.delete(key);
    keys.set(key, value);
    if (this.appender) {
      // New entries first, then the old ones erased (an interrupted write leaves the old value).
      const written = this.appendValue(namespace, key, value, old?.chunkStart === 0 ? 128 : 0);
      if (!written) this.relayout();
      else if (old?.slots) this.appender.erase(old.slots);
    }
    return true;
  }

  /** Remove one key; false if it did not exist. */
  eraseKey(namespace: string, key: string): boolean {
    const keys = this.spaces.get(namespace);
    const old = keys?.get(key);
    if (!keys || !old || old.type === undefined) return false;
    keys.delete(key);
    if (old.slots) this.appender?.erase(old.slots);
    if (keys.size === 0) this.spaces.delete(namespace);
    return true;
  }

  /** Remove every key of a namespace; returns how many there were. */
  eraseNamespace(namespace: string): number {
    const keys = this.spaces.get(namespace);
    if (!keys) return 0;
    for (const value of keys.values()) if (value.slots) this.appender?.erase(value.slots);
    this.spaces.delete(namespace);
    return [...keys.values()].filter((value) => value.type !== undefined).length;
  }

  /** True when the content is in (or can be laid out in) an NVS partition of `partitionSize` bytes. */
  fits(partitionSize: number): boolean {
    if (this.overflow) return false;
    if (this.image?.length === partitionSize) return true;
    try {
      this.encode(partitionSize);
      return true;
    } catch {
      return false;
    }
  }

  /** The partition image: the one the store lives in, or a fresh layout of its values. */
  encode(partitionSize: number): Buffer {
    if (this.overflow) throw new RangeError('the mfg store does not fit its partition');
    if (this.image?.length !== partitionSize) {
      this.image = Buffer.alloc(partitionSize, 0xff);
      this.relayout();
      if (this.overflow) throw new RangeError(`mfg store does not fit a ${partitionSize}-byte partition`);
    }
    return Buffer.from(this.image);
  }

  /** Read a partition image: a store, or undefined when NVS could not use it (corrupt). */
  static decode(image: Uint8Array): MfgStore | undefined {
    const bytes = Buffer.from(image);
    const scan = scanNvs(bytes);
    if (!scan) return undefined;
    const store = new MfgStore();
    store.image = bytes;
    store.appender = new NvsAppender(bytes, scan);
    store.nsIndex = new Map(scan.namespaces);
    const names = new Map([...scan.namespaces].map(([name, index]) => [index, name]));
    for (const ns of [...scan.namespaces].sort((a, b) => a[1] - b[1]).map(([name]) => name)) store.spaces.set(ns, new Map());
    for (const record of scan.records) {
      const ns = names.get(record.ns);
      if (ns === undefined) continue;
      const type = (Object.keys(NVS_TYPE).map(Number) as MfgValueType[]).find((t) => NVS_TYPE[t] === record.type);
      const keys = store.spaces.get(ns)!;
      keys.delete(record.key);
      const bytes = record.type === T_SZ && record.value[record.value.length - 1] === 0 ? record.value.subarray(0, -1) : record.value;
      keys.set(record.key, { type, nvsType: record.type, bytes: Buffer.from(bytes), slots: record.slots, ...(record.chunkStart === undefined ? {} : { chunkStart: record.chunkStart }) });
    }
    for (const [ns, keys] of store.spaces) if (keys.size === 0) store.spaces.delete(ns);
    return store;
  }

  private appendValue(namespace: string, key: string, value: StoredValue, chunkStart: number): boolean {
    const appender = this.appender!;
    let ns = this.nsIndex.get(namespace);
    if (ns === undefined) {
      ns = Math.max(0, ...this.nsIndex.values()) + 1;
      if (ns > 254 || !appender.namespace(namespace, ns)) return false;
      this.nsIndex.set(namespace, ns);
    }
    let slots: Slots | undefined;
    if (value.nvsType === T_SZ) slots = appender.string(ns, key, Buffer.concat([value.bytes, Buffer.of(0)]));
    else if (value.nvsType === T_BLOB_DATA) slots = appender.blob(ns, key, value.bytes, chunkStart);
    else slots = appender.integer(ns, value.nvsType, key, value.bytes);
    if (!slots) return false;
    value.slots = slots;
    if (value.nvsType === T_BLOB_DATA) value.chunkStart = chunkStart;
    return true;
  }

  /** Lay every value out afresh in the partition (the library's garbage collection, in one go). */
  private relayout(): void {
    const fresh = Buffer.alloc(this.image!.length, 0xff);
    this.appender = new NvsAppender(fresh);
    this.nsIndex = new Map();
    for (const [namespace, keys] of this.spaces) {
      for (const [key, value] of keys) {
        if (!this.appendValue(namespace, key, value, 0)) {
          this.overflow = true;
          return;
        }
      }
    }
    this.image = fresh;
  }
}

function describe(namespace: string, key: string, type: MfgValueType, bytes: Buffer): MfgItem {
  const copy = Buffer.from(bytes);
  if (isNumericType(type)) return { namespace, key, type, bytes: copy, number: decodeNumber(type, copy) };
  return { namespace, key, type, bytes: copy, text: copy.toString('latin1') };
}

function checkName(what: string, name: string): void {
  const length = Buffer.byteLength(name, 'latin1');
  if (length === 0 || length > NVS_NAME_MAX) throw new RangeError(`${what} must be 1…${NVS_NAME_MAX} bytes (an NVS name), got ${length}`);
}
