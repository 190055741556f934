/**
 * Recognise what a file or partition read-back holds, by content. Today: ESP-AT's PKI bin, or
 * erased flash. New formats (e.g. the esp_secure_cert TLV partition) get a branch here.
 */
import { PKI_BIN_MAGIC } from './bin-format.js';

export type DataFormat = 'atpki' | 'erased' | 'empty' | 'unknown';

export interface DetectedFormat {
  format: DataFormat;
  /** For people: `ESP-AT PKI bin`, `erased flash (all 0xFF)`... */
  description: string;
}

const DESCRIPTIONS: Readonly<Record<DataFormat, string>> = {
  atpki: 'ESP-AT PKI bin (AtPKI.py format)',
  erased: 'erased flash (all bytes 0xFF)',
  empty: 'empty (0 bytes)',
  unknown: 'unknown format',
};

export function detectFormat(bytes: Uint8Array): DetectedFormat {
  const format = classify(bytes);
  return { format, description: DESCRIPTIONS[format] };
}

function classify(bytes: Uint8Array): DataFormat {
  if (bytes.length === 0) return 'empty';
  if (bytes.length >= 2 && (bytes[0]! | (bytes[1]! << 8)) === PKI_BIN_MAGIC) return 'atpki';
  if (bytes.every((byte) => byte === 0xff)) return 'erased';
  return 'unknown';
}
