/**
 * A whole esp_secure_cert TLV partition image: entries back to back from offset 0, nothing else.
 * The reader stops at the first 16-byte-aligned position whose first 4 bytes are not the magic
 * (erased flash 0xFF, the `FF FF 00 00` marker some tools append, or the end of the data).
 */
import { InputError } from '../../errors.js';
import { integrityDigest } from './integrity.js';
import { encodeTlvEntry, entryLabel, readTlvEntry, type TlvEntry, type TlvEntryInput, type TlvRead } from './tlv-entry.js';
import { TlvType } from './tlv-types.js';

/** The partition size Espressif recommends, and the largest image configure_esp_secure_cert.py writes. */
export const TLV_PARTITION_SIZE = 0x2000;

/** `FF FF 00 00` (u32 0x0000FFFF): what tools 2.2–2.3 and `--append-integrity` write after the last entry. */
export const TLV_END_MARKER: Readonly<Uint8Array> = Uint8Array.of(0xff, 0xff, 0x00, 0x00);

export interface EncodeTlvImageOptions {
  /** Append INTEGRITY/0 (SHA-256 of everything before it) last, as configure_esp_secure_cert.py ≥ 2.6 does. @default true */
  integrity?: boolean;
  /** Refuse a larger image. @default TLV_PARTITION_SIZE */
  maxSize?: number;
}

/**
 * The image of `entries`, in the order given, written as configure_esp_secure_cert.py 2.6.1 does:
 * only the used bytes (no 0xFF fill, no end marker), INTEGRITY/0 last. InputError on a repeated
 * (type, subtype) (the firmware would only ever see the first) or an image over `maxSize`.
 */
export function encodeTlvImage(entries: readonly TlvEntryInput[], options: EncodeTlvImageOptions = {}): Buffer {
  const { integrity = true, maxSize = TLV_PARTITION_SIZE } = options;
  const all = integrity ? [...entries, { type: TlvType.INTEGRITY, subtype: 0, value: new Uint8Array(0) }] : [...entries];
  const seen = new Set<string>();
  for (const entry of all) {
    const label = entryLabel({ type: entry.type, subtype: entry.subtype ?? 0 });
    if (seen.has(label)) throw new InputError(`${label} is given twice; (type, subtype) pairs must be unique`, { details: { entry: label } });
    seen.add(label);
  }
  let image = Buffer.concat(entries.map(encodeTlvEntry));
  if (integrity) image = Buffer.concat([image, encodeTlvEntry({ type: TlvType.INTEGRITY, subtype: 0, value: integrityDigest(image, image.length) })]);
  if (image.length > maxSize) {
    throw new InputError(`the esp_secure_cert image would be ${image.length} bytes, more than the ${maxSize} bytes of the partition`, {
      details: { size: image.length, partitionSize: maxSize },
    });
  }
  return image;
}

/** What follows the last entry. */
export type TlvTermination =
  /** Nothing: the file ends with the last entry (tool ≥ 2.4 output). */
  | 'eof'
  /** 0xFF to the end (erased flash, tools ≤ 2.3 filled the image). */
  | 'erased'
  /** `FF FF 00 00`, then nothing or 0xFF. */
  | 'end-marker'
  /** Anything else: the reader stops there, whatever it is. */
  | 'other-data'
  /** The last entry runs past the end of the file. */
  | 'truncated';

export interface TlvWalk {
  /** Every entry the reader can reach, CRC good or bad, in image order. */
  entries: TlvEntry[];
  /** Offset where the walk stopped (end of the last whole entry). */
  end: number;
  termination: TlvTermination;
  /** Bytes from `end` to the end of the file. */
  trailingBytes: number;
  /** The entry that does not fit, when `termination` is truncated. */
  truncated?: Extract<TlvRead, { kind: 'truncated' }>;
}

/**
 * Walk the image as the firmware's lookup does: entry after entry while the magic is there,
 * stepping over entries without needing their CRC to be good (each CRC is checked and recorded).
 * Bounded by the file: an entry that does not fit ends the walk as `truncated`.
 */
export function walkTlvImage(image: Uint8Array): TlvWalk {
  const entries: TlvEntry[] = [];
  let offset = 0;
  for (;;) {
    const read = readTlvEntry(image, offset);
    if (read.kind === 'entry') {
      entries.push(read.entry);
      offset += read.entry.size;
      continue;
    }
    const trailingBytes = image.length - offset;
    if (read.kind === 'truncated') return { entries, end: offset, termination: 'truncated', trailingBytes, truncated: read };
    return { entries, end: offset, termination: terminationOf(image.subarray(offset)), trailingBytes };
  }
}

function terminationOf(rest: Uint8Array): Exclude<TlvTermination, 'truncated'> {
  if (rest.length === 0) return 'eof';
  if (rest.every((byte) => byte === 0xff)) return 'erased';
  const marker = rest.length >= TLV_END_MARKER.length && TLV_END_MARKER.every((byte, i) => rest[i] === byte);
  if (marker && rest.subarray(TLV_END_MARKER.length).every((byte) => byte === 0xff)) return 'end-marker';
  return 'other-data';
}
