/**
 * The CSV of configure_esp_secure_cert.py --esp_secure_cert_csv: one row per TLV entry,
 * `tlv_type,tlv_subtype,data_value,data_type,priv_key_type,algorithm,key_size,efuse_id,efuse_key`
 * (a header line naming tlv_type first is skipped; trailing empty columns may be left out).
 * Entries are stored in row order. Records as csv-records.ts reads them; errors name the line.
 */
import { InputError } from '../../errors.js';
import { csvRecords } from '../csv-records.js';
import { assertPlaintextKeyStorage, type KeyStorage } from './build.js';
import { entryLabel } from './tlv-entry.js';
import { TlvType } from './tlv-types.js';

/** How data_value is given. */
export type SecureCertCsvDataType = 'file' | 'string' | 'hex' | 'base64';

export interface SecureCertCsvRow {
  /** 1-based line number in the file. */
  line: number;
  type: number;
  subtype: number;
  dataType: SecureCertCsvDataType;
  /** data_value as written (a path relative to the CSV's folder for `file`). */
  value: string;
}

/** The types a CSV may hold, by the names the tool's documentation uses (numbers work too). */
const CSV_TYPES: Readonly<Record<string, number>> = {
  ESP_SECURE_CERT_CA_CERT_TLV: TlvType.CA_CERT,
  ESP_SECURE_CERT_DEV_CERT_TLV: TlvType.DEV_CERT,
  ESP_SECURE_CERT_PRIV_KEY_TLV: TlvType.PRIV_KEY,
  ESP_SECURE_CERT_USER_DATA_1_TLV: TlvType.USER_DATA_1,
  ESP_SECURE_CERT_USER_DATA_2_TLV: TlvType.USER_DATA_2,
  ESP_SECURE_CERT_USER_DATA_3_TLV: TlvType.USER_DATA_3,
  ESP_SECURE_CERT_USER_DATA_4_TLV: TlvType.USER_DATA_4,
  ESP_SECURE_CERT_USER_DATA_5_TLV: TlvType.USER_DATA_5,
};
const CSV_TYPE_IDS = new Set(Object.values(CSV_TYPES));
const DATA_TYPES: readonly SecureCertCsvDataType[] = ['file', 'string', 'hex', 'base64'];
/** The tool's priv_key_type values. */
const KEY_STORAGES: Readonly<Record<string, KeyStorage>> = { '': 'plaintext', plaintext: 'plaintext', rsa_ds: 'ds-peripheral', ecdsa_peripheral: 'ecdsa-peripheral' };
/** Subtypes 0..254 (255 is the firmware's "invalid"). */
const MAX_SUBTYPE = 254;

export function parseSecureCertCsv(text: string, file = 'CSV'): SecureCertCsvRow[] {
  const records = csvRecords(text, file);
  if (records[0]?.fields[0]?.trim() === 'tlv_type') records.shift();
  if (records.length === 0) throw new InputError(`${file}: no rows (tlv_type,tlv_subtype,data_value,data_type,priv_key_type,...)`);
  const seen = new Map<string, number>();
  return records.map(({ line, fields }) => {
    const fail = (message: string): never => {
      throw new InputError(`${file} line ${line}: ${message}`, { details: { line } });
    };
    if (fields.length < 4) fail(`expected tlv_type,tlv_subtype,data_value,data_type[,priv_key_type,...], got ${fields.length} column${fields.length === 1 ? '' : 's'}`);
    const [typeField, subtypeField, value, dataTypeField, keyStorageField = ''] = fields as [string, string, string, string, string?];
    const type = parseType(typeField.trim(), fail);
    const subtypeText = subtypeField.trim();
    const subtype = /^\d+$/.test(subtypeText) ? Number(subtypeText) : NaN;
    if (!(subtype <= MAX_SUBTYPE)) fail(`bad tlv_subtype '${subtypeField}': give an integer from 0 to ${MAX_SUBTYPE}`);
    const dataType = dataTypeField.trim().toLowerCase() as SecureCertCsvDataType;
    if (!DATA_TYPES.includes(dataType)) fail(`bad data_type '${dataTypeField}': give file, string, hex or base64`);
    const credential = type === TlvType.CA_CERT || type === TlvType.DEV_CERT || type === TlvType.PRIV_KEY;
    if (credential && dataType !== 'file' && dataType !== 'string') fail(`${entryLabel({ type, subtype })} takes data_type file or string, not ${dataType}`);
    const keyStorage = KEY_STORAGES[keyStorageField.trim().toLowerCase()];
    if (keyStorage === undefined) fail(`bad priv_key_type '${keyStorageField}': give plaintext, rsa_ds or ecdsa_peripheral`);
    if (keyStorage !== 'plaintext') {
      if (type !== TlvType.PRIV_KEY) fail(`priv_key_type ${keyStorageField.trim()} is for ESP_SECURE_CERT_PRIV_KEY_TLV rows`);
      try {
        assertPlaintextKeyStorage(keyStorage!);
      } catch (error) {
        if (error instanceof InputError) fail(error.message);
        throw error;
      }
    }
    if (dataType === 'file' && value.length === 0) fail('data_type file needs a path in data_value');
    const label = entryLabel({ type, subtype });
    const earlier = seen.get(label);
    if (earlier !== undefined) fail(`${label} is given twice (also on line ${earlier}); (tlv_type, tlv_subtype) pairs must be unique`);
    seen.set(label, line);
    return { line, type, subtype, dataType, value };
  });
}

/** The files the rows name (paths as written), each once. */
export function secureCertCsvFilePaths(rows: readonly SecureCertCsvRow[]): string[] {
  return [...new Set(rows.filter((row) => row.dataType === 'file').map((row) => row.value))];
}

function parseType(text: string, fail: (message: string) => never): number {
  const named = CSV_TYPES[text.toUpperCase()];
  if (named !== undefined) return named;
  const id = /^\d+$/.test(text) ? Number(text) : NaN;
  if (CSV_TYPE_IDS.has(id)) return id;
  if (id === TlvType.INTEGRITY) return fail('INTEGRITY (9) is not given in a CSV: at-pki appends INTEGRITY/0 itself');
  return fail(`bad tlv_type '${text}': give ${Object.keys(CSV_TYPES).join(', ')} or its number (0, 1, 2, 51..55)`);
}
