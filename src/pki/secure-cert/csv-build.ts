/**
 * The TLV image of a configure_esp_secure_cert.py CSV (csv.ts): one entry per row, in row order,
 * then INTEGRITY/0. Certificates and keys are stored as from files (build.ts); USER_DATA values as
 * raw bytes: `string` as UTF-8 without a NUL, `hex` and `base64` decoded, `file` as it is.
 */
import { InputError } from '../../errors.js';
import { buildTlvFromValues, encodeCredentialValue, type BuiltSecureCert, type StoredValue } from './build.js';
import type { SecureCertCsvRow } from './csv.js';
import { isUserDataType } from './tlv-types.js';

/**
 * `files` holds the content of every `file` row, by the path as written. `source` names the CSV in
 * messages. InputError naming the line for a value that is not what its row says.
 */
export function buildSecureCertFromCsv(rows: readonly SecureCertCsvRow[], files: ReadonlyMap<string, Uint8Array>, source = 'CSV'): BuiltSecureCert {
  const values = rows.map((row): StoredValue => {
    const where = `${source} line ${row.line}`;
    const content = row.dataType === 'file' ? files.get(row.value) : undefined;
    if (row.dataType === 'file' && content === undefined) throw new Error(`${where}: ${row.value} was not read`);
    const from = row.dataType === 'file' ? row.value : `line ${row.line}`;
    if (!isUserDataType(row.type)) {
      const bytes = content ?? Buffer.from(pemFromCsvString(row.value), 'utf8');
      return encodeCredentialValue(row.type, row.subtype, { content: bytes, source: from }, row.dataType === 'file' ? `${where} (${row.value})` : where);
    }
    const value = content !== undefined ? Buffer.from(content) : decodeUserData(row, where);
    return { type: row.type, subtype: row.subtype, value, stored: `${value.length} bytes (${row.dataType === 'string' ? 'UTF-8 string' : row.dataType})`, notes: [], source: from };
  });
  return buildTlvFromValues(values);
}

function decodeUserData(row: SecureCertCsvRow, where: string): Buffer {
  const fail = (message: string): never => {
    throw new InputError(`${where}: ${message}`, { details: { line: row.line } });
  };
  if (row.dataType === 'string') return Buffer.from(row.value, 'utf8');
  const text = row.value.replace(/\s+/g, '');
  if (row.dataType === 'hex') {
    const digits = text.replace(/^0x/i, '');
    if (!/^(?:[0-9a-f]{2})*$/i.test(digits)) fail(`bad hex data_value: give pairs of hex digits (${digits.length % 2 === 1 ? 'odd count' : 'not a hex digit'})`);
    return Buffer.from(digits, 'hex');
  }
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) fail('bad base64 data_value');
  return Buffer.from(text, 'base64');
}

/**
 * A certificate or key given as a `string` cell, as PEM text a parser reads: the documentation
 * allows `\n` escapes for line ends, and the whole PEM on one line without any.
 */
function pemFromCsvString(cell: string): string {
  const text = cell.replace(/\\n/g, '\n');
  return text.replace(/(-----BEGIN [A-Z0-9 ]+-----)([^\n]*?)(-----END [A-Z0-9 ]+-----)/g, (_, begin: string, body: string, end: string) => {
    const base64 = body.replace(/\s+/g, '');
    return `${begin}\n${base64.match(/.{1,64}/g)?.join('\n') ?? ''}\n${end}\n`;
  });
}
