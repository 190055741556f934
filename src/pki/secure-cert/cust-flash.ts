/**
 * The legacy `cust_flash` layout of the esp_secure_cert partition (before the TLV format; read by
 * firmware built with CONFIG_ESP_SECURE_CERT_SUPPORT_LEGACY_FORMATS): fixed regions in a 0x6000-byte
 * image, described by a metadata struct at offset 0. Unused bytes are 0xFF, unused metadata 0x00.
 *
 * ```
 * region       offset  size
 * metadata          0    64
 * device cert      64  2048
 * CA cert        2112  4096
 * private key    6208  4096   (DS variant: ciphertext c at 6208, IV at 6208 + c_len + 16)
 * ```
 * Metadata (little-endian, C alignment, each item `u32 crc, u16 len, 2 pad`):
 * plaintext key: dev @0, ca @8, key @16, u32 magic 0x12345678 @24;
 * DS: dev @0, ca @8, c @16, iv @24, u16 rsa_length_bits @30, u8 efuse_key_id @32, magic @36.
 * The CRCs are those of crc.ts, over exactly `len` bytes. An absent CA has length 0 and CRC 0.
 * The older `pre_prov` partitions swap the first two metadata slots (slot 0 describes the CA).
 */
import { InputError } from '../../errors.js';
import { secureCertCrc } from './crc.js';
import { describeStoredCertificate, describeStoredPrivateKey } from './credential-values.js';
import { checkDsParameters, DS_CIPHERTEXT_LENGTHS, DS_IV_LENGTH, dsMaxBitsOfCiphertext } from './ds-values.js';
import type { TlvValueInfo } from './entry-values.js';
import { hexOffset, type SecureCertProblem } from './problems.js';

export const CUST_FLASH_SIZE = 0x6000;
export const CUST_FLASH_MAGIC = 0x12345678;
export const CUST_FLASH_METADATA_SIZE = 64;
const PLAINTEXT_MAGIC_OFFSET = 24;
const DS_MAGIC_OFFSET = 36;

export type CustFlashItemName = 'dev_cert' | 'ca_cert' | 'priv_key' | 'ds_ciphertext' | 'ds_iv';

/** The fixed regions (the DS IV follows the ciphertext). */
export const CUST_FLASH_REGIONS: Readonly<Record<Exclude<CustFlashItemName, 'ds_iv'>, { offset: number; capacity: number }>> = {
  dev_cert: { offset: 64, capacity: 2048 },
  ca_cert: { offset: 2112, capacity: 4096 },
  priv_key: { offset: 6208, capacity: 4096 },
  ds_ciphertext: { offset: 6208, capacity: 4096 },
};
const DS_IV_CAPACITY = 32;

/** The values to store, already in stored form (credential-encoding.ts). */
export interface CustFlashValues {
  deviceCert: Uint8Array;
  caCert?: Uint8Array;
  privateKey: Uint8Array;
}

export interface CustFlashItem {
  name: CustFlashItemName;
  /** Where the metadata says it is. */
  offset: number;
  /** Size of its region. */
  capacity: number;
  /** Length and CRC from the metadata. */
  length: number;
  crc: number;
  /** Length 0 and CRC 0: not stored. */
  absent: boolean;
  /** CRC of the bytes found; undefined when the item does not fit the region or the file. */
  computedCrc?: number;
  crcOk: boolean;
  value?: Buffer;
  info?: TlvValueInfo;
}

export interface DecodedCustFlash {
  layout: 'cust_flash';
  /** plaintext: the key is stored; ds: the DS peripheral's encrypted key (ciphertext + IV). */
  keyStorage: 'plaintext' | 'ds';
  /** esp_secure_cert: slot 0 = device cert; pre_prov: slot 0 = CA cert (older partitions). */
  metadataOrder: 'esp_secure_cert' | 'pre_prov';
  items: CustFlashItem[];
  /** DS variant: from the metadata. */
  ds?: { rsaLengthBits: number; efuseKeyId: number };
  problems: SecureCertProblem[];
}

/**
 * Which metadata variant `image` starts with: the magic at offset 24 (plaintext key) or 36 (DS),
 * the rest of the 64 metadata bytes zero. Undefined if neither.
 */
export function custFlashVariant(image: Uint8Array): DecodedCustFlash['keyStorage'] | undefined {
  if (image.length < CUST_FLASH_METADATA_SIZE) return undefined;
  const bytes = Buffer.from(image.buffer, image.byteOffset, image.byteLength);
  const magicAt = (at: number): boolean => bytes.readUInt32LE(at) === CUST_FLASH_MAGIC && bytes.subarray(at + 4, CUST_FLASH_METADATA_SIZE).every((byte) => byte === 0);
  if (magicAt(PLAINTEXT_MAGIC_OFFSET)) return 'plaintext';
  if (magicAt(DS_MAGIC_OFFSET)) return 'ds';
  return undefined;
}

/** A plaintext-key cust_flash image (what custflash_format.py's generate_partition_no_ds writes). */
export function encodeCustFlash(values: CustFlashValues): Buffer {
  const image = Buffer.alloc(CUST_FLASH_SIZE, 0xff);
  image.fill(0, 0, CUST_FLASH_METADATA_SIZE);
  const items: [Exclude<CustFlashItemName, 'ds_iv'>, Uint8Array | undefined][] = [
    ['dev_cert', values.deviceCert],
    ['ca_cert', values.caCert],
    ['priv_key', values.privateKey],
  ];
  items.forEach(([name, value], slot) => {
    if (value === undefined) return;
    const region = CUST_FLASH_REGIONS[name];
    if (value.length > region.capacity) {
      throw new InputError(`the ${name} is ${value.length} bytes; the cust_flash layout holds at most ${region.capacity}`, { details: { item: name, length: value.length } });
    }
    image.set(value, region.offset);
    image.writeUInt32LE(secureCertCrc(value), slot * 8);
    image.writeUInt16LE(value.length, slot * 8 + 4);
  });
  image.writeUInt32LE(CUST_FLASH_MAGIC, PLAINTEXT_MAGIC_OFFSET);
  return image;
}

/** Decode and check a cust_flash image. Never throws on bad data. */
export function decodeCustFlash(image: Uint8Array): DecodedCustFlash {
  const bytes = Buffer.from(image.buffer, image.byteOffset, image.byteLength);
  const problems: SecureCertProblem[] = [];
  const keyStorage = custFlashVariant(bytes);
  const decoded: DecodedCustFlash = { layout: 'cust_flash', keyStorage: keyStorage ?? 'plaintext', metadataOrder: 'esp_secure_cert', items: [], problems };
  if (keyStorage === undefined) {
    problems.push({ severity: 'error', code: 'BAD_METADATA', message: `no cust_flash metadata: magic 0x${CUST_FLASH_MAGIC.toString(16)} is neither at offset ${PLAINTEXT_MAGIC_OFFSET} nor at ${DS_MAGIC_OFFSET}`, offset: 0 });
    return decoded;
  }
  const slot = (n: number): { crc: number; length: number } => ({ crc: bytes.readUInt32LE(n * 8), length: bytes.readUInt16LE(n * 8 + 4) });
  const read = (name: CustFlashItemName, offset: number, capacity: number, meta: { crc: number; length: number }): CustFlashItem => {
    const item: CustFlashItem = { name, offset, capacity, ...meta, absent: meta.length === 0 && meta.crc === 0, crcOk: false };
    if (item.absent || meta.length > capacity || offset + meta.length > bytes.length) return item;
    item.value = bytes.subarray(offset, offset + meta.length);
    item.computedCrc = secureCertCrc(item.value);
    item.crcOk = item.computedCrc === meta.crc;
    return item;
  };
  const certificates = (order: DecodedCustFlash['metadataOrder']): CustFlashItem[] => {
    const [dev, ca] = order === 'esp_secure_cert' ? [slot(0), slot(1)] : [slot(1), slot(0)];
    return [read('dev_cert', CUST_FLASH_REGIONS.dev_cert.offset, CUST_FLASH_REGIONS.dev_cert.capacity, dev), read('ca_cert', CUST_FLASH_REGIONS.ca_cert.offset, CUST_FLASH_REGIONS.ca_cert.capacity, ca)];
  };
  // The order whose CRCs match; the current one when neither does (its mismatches get reported).
  const fits = (items: CustFlashItem[]): boolean => items.every((item) => item.absent || item.crcOk);
  const current = certificates('esp_secure_cert');
  const preProv = certificates('pre_prov');
  if (!fits(current) && fits(preProv)) decoded.metadataOrder = 'pre_prov';
  decoded.items.push(...(decoded.metadataOrder === 'pre_prov' ? preProv : current));
  if (keyStorage === 'plaintext') {
    decoded.items.push(read('priv_key', CUST_FLASH_REGIONS.priv_key.offset, CUST_FLASH_REGIONS.priv_key.capacity, slot(2)));
  } else {
    const c = slot(2);
    decoded.items.push(read('ds_ciphertext', CUST_FLASH_REGIONS.ds_ciphertext.offset, CUST_FLASH_REGIONS.ds_ciphertext.capacity, c));
    // custflash_format.py leaves C_LEN + 16 bytes for the ciphertext (1216 on esp32c3, 1600 on esp32s2/s3).
    decoded.items.push(read('ds_iv', CUST_FLASH_REGIONS.ds_ciphertext.offset + c.length + 16, DS_IV_CAPACITY, slot(3)));
    decoded.ds = { rsaLengthBits: bytes.readUInt16LE(30), efuseKeyId: bytes[32]! };
    const dsErrors = checkDsParameters(decoded.ds.efuseKeyId, decoded.ds.rsaLengthBits);
    if (dsMaxBitsOfCiphertext(c.length) === undefined) dsErrors.push(`ciphertext of ${c.length} bytes; the DS peripheral takes ${Object.values(DS_CIPHERTEXT_LENGTHS).join(' or ')}`);
    if (slot(3).length !== DS_IV_LENGTH) dsErrors.push(`IV of ${slot(3).length} bytes; it is ${DS_IV_LENGTH}`);
    for (const error of dsErrors) problems.push({ severity: 'error', code: 'BAD_VALUE', message: `DS metadata: ${error}`, offset: 0 });
  }
  for (const item of decoded.items) checkItem(item, bytes.length, problems);
  return decoded;
}

function checkItem(item: CustFlashItem, imageLength: number, problems: SecureCertProblem[]): void {
  const where = `${item.name} at ${hexOffset(item.offset)}`;
  if (item.absent) {
    if (item.name !== 'ca_cert') problems.push({ severity: 'error', code: 'BAD_METADATA', message: `${where}: not stored (length 0)`, offset: item.offset });
    return;
  }
  if (item.length > item.capacity) {
    problems.push({ severity: 'error', code: 'BAD_METADATA', message: `${where}: the metadata says ${item.length} bytes, more than its ${item.capacity}-byte region`, offset: item.offset });
    return;
  }
  if (item.value === undefined) {
    problems.push({ severity: 'error', code: 'TRUNCATED', message: `${where}: ${item.length} bytes, but the file ends after ${Math.max(0, imageLength - item.offset)}`, offset: item.offset });
    return;
  }
  if (!item.crcOk) {
    problems.push({ severity: 'error', code: 'CRC_MISMATCH', message: `${where}: CRC mismatch (stored 0x${item.crc.toString(16).padStart(8, '0')}, computed 0x${item.computedCrc!.toString(16).padStart(8, '0')}): the firmware reports the partition as tampered`, offset: item.offset });
  }
  const described = describeValue(item);
  item.info = described.info;
  for (const error of described.errors) problems.push({ severity: 'error', code: 'BAD_VALUE', message: `${where}: ${error}`, offset: item.offset });
}

function describeValue(item: CustFlashItem): { info: TlvValueInfo; errors: string[] } {
  const value = item.value!;
  if (item.name === 'dev_cert' || item.name === 'ca_cert') {
    const { info, errors } = describeStoredCertificate(value);
    return { info: info ? { kind: 'certificate', certificate: info } : { kind: 'unreadable' }, errors };
  }
  if (item.name === 'priv_key') {
    const { info, errors } = describeStoredPrivateKey(value);
    return { info: info ? { kind: 'private-key', keyType: 'DEFAULT', key: info } : { kind: 'unreadable' }, errors };
  }
  return { info: { kind: 'opaque' }, errors: [] };
}
