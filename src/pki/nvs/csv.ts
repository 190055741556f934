/**
 * The CSV that nvs_partition_gen.py reads: a header line naming the columns (key,type,encoding,value),
 * then one row per namespace or key. Lines starting with `#` are comments; blank lines are skipped;
 * fields follow Python's csv module (double quotes, `""` inside quotes, no trimming). Each row keeps
 * the line it starts on, for error messages.
 */
import { InputError } from '../../errors.js';

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
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const records: { line: number; fields: string[] }[] = [];
  for (let n = 0; n < lines.length; n++) {
    let line = lines[n]!;
    const start = n + 1;
    if (line.startsWith('#')) continue;
    // A quoted field may run over line ends.
    let fields = splitRecord(line);
    while (fields === undefined && n + 1 < lines.length) {
      line += `\n${lines[++n]!}`;
      fields = splitRecord(line);
    }
    if (fields === undefined) throw new InputError(`${file} line ${start}: unterminated quoted field`, { details: { line: start } });
    if (line.length === 0) continue;
    records.push({ line: start, fields });
  }
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

/** One record's fields, or undefined while a quoted field is still open. */
function splitRecord(text: string): string[] | undefined {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && field.length === 0) quoted = true;
    else if (c === ',') {
      fields.push(field);
      field = '';
    } else field += c;
  }
  if (quoted) return undefined;
  fields.push(field);
  return fields;
}
