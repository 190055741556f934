/**
 * CSV records as Python's csv module reads them (the reference tools parse their CSVs with it):
 * double quotes, `""` inside quotes, quoted fields may run over line ends, no trimming. Lines
 * starting with `#` and blank lines are skipped. Each record keeps the line it starts on, for
 * error messages.
 */
import { InputError } from '../errors.js';

export interface CsvRecord {
  /** 1-based line number in the file. */
  line: number;
  fields: string[];
}

export function csvRecords(text: string, file = 'CSV'): CsvRecord[] {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const records: CsvRecord[] = [];
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
  return records;
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
