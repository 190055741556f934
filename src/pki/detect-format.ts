/**
 * Recognise what a file or partition read-back holds, by content: ESP-AT's PKI bin, an
 * esp_secure_cert partition (TLV, or the legacy cust_flash layout), an NVS partition (ESP-AT's
 * mfg_nvs, or esp_secure_cert's legacy nvs layout), or erased flash.
 */
import { PKI_BIN_MAGIC } from './bin-format.js';
import { custFlashVariant } from './secure-cert/cust-flash.js';
import { hasTlvMagic } from './secure-cert/tlv-entry.js';
import { isSecureCertNvs, looksLikeNvs } from './nvs/detect.js';

export type DataFormat = 'atpki' | 'esp-secure-cert' | 'esp-secure-cert-cust-flash' | 'nvs' | 'esp-secure-cert-nvs' | 'erased' | 'empty' | 'unknown';

export interface DetectedFormat {
  format: DataFormat;
  /** For people: `ESP-AT PKI bin`, `erased flash (all 0xFF)`... */
  description: string;
}

const DESCRIPTIONS: Readonly<Record<DataFormat, string>> = {
  atpki: 'ESP-AT PKI bin (AtPKI.py format)',
  'esp-secure-cert': 'esp_secure_cert partition (TLV format)',
  'esp-secure-cert-cust-flash': 'esp_secure_cert partition (legacy cust_flash layout)',
  nvs: 'NVS partition (ESP-IDF non-volatile storage)',
  'esp-secure-cert-nvs': 'esp_secure_cert partition (legacy nvs layout, an NVS partition)',
  erased: 'erased flash (all bytes 0xFF)',
  empty: 'empty (0 bytes)',
  unknown: 'unknown format',
};

/** The two NVS formats (inspected by the NVS decoder). */
export function isNvsFormat(format: DataFormat): format is 'nvs' | 'esp-secure-cert-nvs' {
  return format === 'nvs' || format === 'esp-secure-cert-nvs';
}

/** The two esp_secure_cert layouts of the secure-cert decoder (the nvs layout is an NVS image). */
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
  if (looksLikeNvs(bytes)) return isSecureCertNvs(bytes) ? 'esp-secure-cert-nvs' : 'nvs';
  if (bytes.every((byte) => byte === 0xff)) return 'erased';
  return 'unknown';
}
