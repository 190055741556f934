/**
 * Recognise what a file or partition read-back holds, by content: ESP-AT's PKI bin, an
 * esp_secure_cert partition (TLV, or the legacy cust_flash layout), or erased flash.
 */
import { PKI_BIN_MAGIC } from './bin-format.js';
import { custFlashVariant } from './secure-cert/cust-flash.js';
import { hasTlvMagic } from './secure-cert/tlv-entry.js';

export type DataFormat = 'atpki' | 'esp-secure-cert' | 'esp-secure-cert-cust-flash' | 'erased' | 'empty' | 'unknown';

export interface DetectedFormat {
  format: DataFormat;
  /** For people: `ESP-AT PKI bin`, `erased flash (all 0xFF)`... */
  description: string;
}

const DESCRIPTIONS: Readonly<Record<DataFormat, string>> = {
  atpki: 'ESP-AT PKI bin (AtPKI.py format)',
  'esp-secure-cert': 'esp_secure_cert partition (TLV format)',
  'esp-secure-cert-cust-flash': 'esp_secure_cert partition (legacy cust_flash layout)',
  erased: 'erased flash (all bytes 0xFF)',
  empty: 'empty (0 bytes)',
  unknown: 'unknown format',
};

/** The two esp_secure_cert layouts. */
export function isSecureCertFormat(format: DataFormat): format is 'esp-secure-cert' | 'esp-secure-cert-cust-flash' {
  return format === 'esp-secure-cert' || format === 'esp-secure-cert-cust-flash';
}

export function detectFormat(bytes: Uint8Array): DetectedFormat {
  const format = classify(bytes);
  return { format, description: DESCRIPTIONS[format] };
}

function classify(bytes: Uint8Array): DataFormat {
  if (bytes.length === 0) return 'empty';
  // TLV magic (4 bytes) first; the cust_flash metadata (4-byte magic + 36 zero bytes) before the
  // PKI bin's 2-byte magic, which a cust_flash image's first CRC could happen to start with.
  if (hasTlvMagic(bytes)) return 'esp-secure-cert';
  if (custFlashVariant(bytes) !== undefined) return 'esp-secure-cert-cust-flash';
  if (bytes.length >= 2 && (bytes[0]! | (bytes[1]! << 8)) === PKI_BIN_MAGIC) return 'atpki';
  if (bytes.every((byte) => byte === 0xff)) return 'erased';
  return 'unknown';
}
