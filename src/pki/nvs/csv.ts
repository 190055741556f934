/**
 * The CSV that nvs_partition_gen.py reads: a header line naming the columns (key,type,encoding,value),
 * then one row per namespace or key; records as csv-records.ts reads them.
 */
import { InputError } from '../../errors.js';
import { csvRecords } from '../csv-records.js';

export interface NvsCsvRow {
  /** 1-based line number in the file. */
  line: number;
  key: string;
  type: string;
  encoding: string;
  value: string;
}

const COLUMNS = ['key', 'type', 'encoding', 'value'] as const;

export function parseNvsCsv(text: string, file = 'CSV'): NvsCsvRow[] {
  const records = csvRecords(text, file);
  const header = records.shift();
  if (!header) throw new InputError(`${file}: no header line (key,type,encoding,value)`);
  const positions = COLUMNS.map((column) => header.fields.indexOf(column));
  const missing = COLUMNS.filter((_, i) => positions[i]! < 0);
  if (missing.length > 0) {
    throw new InputError(`${file} line ${header.line}: the header names no ${missing.join(', ')} column (expected key,type,encoding,value)`, { details: { line: header.line } });
  }
  return records.map(({ line, fields }) => {
    const [key, type, encoding, value] = positions.map((at) => fields[at!]);
    if (key === undefined || type === undefined) throw new InputError(`${file} line ${line}: expected key,type,encoding,value`, { details: { line } });
    return { line, key, type, encoding: encoding ?? '', value: value ?? '' };
  });
}
