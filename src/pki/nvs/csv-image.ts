/**
 * nvs_partition_gen.py's CSV rows → an NVS image, with the generator's value conversions:
 * integers as Python's int() reads them, `string` (UTF-8, NUL added), `hex2bin`, `base64`,
 * `binary` (the text itself, or a file's bytes), `blob_fill(N;0xPP)` / `blob_sz_fill(N;0xPP)`; and its
 * Wi-Fi side effects (a first `sta.ssid`/`sta.pswd` adds sta.apinfo, sta.pmk and sta.apsw; `ap.ssid`,
 * `ap.passwd` and a non-zero `ap.authmode` add ap.pmk_info). Errors name the CSV line.
 */
import { pbkdf2Sync } from 'node:crypto';
import { InputError } from '../../errors.js';
import { NvsImageBuilder, type NvsValue, type WrittenItem } from './encoder.js';
import type { IntegerTypeName } from './entry.js';
import type { NvsCsvRow } from './csv.js';
import type { NvsFormatVersion } from './page-header.js';

const INTEGER_ENCODINGS = new Set<string>(['u8', 'i8', 'u16', 'i16', 'u32', 'i32', 'u64', 'i64']);
const FILL_ENCODING = /^(blob_fill|blob_sz_fill)\((\d+);(0x[0-9a-fA-F]{2})\)$/;

export interface NvsCsvOptions {
  size: number;
  version?: NvsFormatVersion;
  /** File rows: the bytes of each `value` path as written in the CSV. */
  files: ReadonlyMap<string, Buffer>;
  /** For messages. */
  source?: string;
}

export interface NvsCsvImage {
  image: Buffer;
  written: WrittenItem[];
  readOnly: boolean;
  /** Keys the generator adds on its own (Wi-Fi), to tell the user. */
  notes: string[];
}

/** The paths the `file` rows name (for the caller to read). */
export function csvFilePaths(rows: readonly NvsCsvRow[]): string[] {
  return [...new Set(rows.filter((row) => row.type === 'file').map((row) => row.value))];
}

export function buildNvsFromCsv(rows: readonly NvsCsvRow[], options: NvsCsvOptions): NvsCsvImage {
  const source = options.source ?? 'CSV';
  const builder = new NvsImageBuilder(options.size, options.version ?? 2);
  const notes: string[] = [];
  const visited: string[] = [];
  const ap: { ssid?: string; passwd?: string; authmode?: string } = {};
  let staExtras = false;
  for (const row of rows) {
    const at = `${source} line ${row.line}`;
    try {
      if (row.type === 'namespace') {
        if (visited.includes(row.key) && visited[visited.length - 1] !== row.key) {
          // The generator would put the following keys under the latest namespace, not this one.
          throw new InputError(`namespace ${row.key} again after ${visited[visited.length - 1]}: nvs_partition_gen.py would store the keys that follow under ${visited[visited.length - 1]}; keep each namespace's rows together`);
        }
        if (!visited.includes(row.key)) visited.push(row.key);
        builder.namespace(row.key);
        continue;
      }
      if (row.type !== 'data' && row.type !== 'file') throw new InputError(`type "${row.type}" is none of namespace, data, file`);
      const wifi = row.key === 'sta.ssid' || row.key === 'sta.pswd' || row.key.startsWith('ap.');
      if (wifi && row.type === 'file' && ['sta.ssid', 'sta.pswd', 'ap.ssid', 'ap.passwd', 'ap.authmode'].includes(row.key)) {
        throw new InputError(`${row.key} from a file: nvs_partition_gen.py stores the path itself for this key; give the value as data`);
      }
      if (row.key === 'ap.ssid' || row.key === 'ap.passwd' || row.key === 'ap.authmode') {
        if (row.key === 'ap.ssid') ap.ssid = row.value;
        if (row.key === 'ap.passwd') ap.passwd = row.value;
        if (row.key === 'ap.authmode' && row.value !== '0') ap.authmode = row.value;
        if (ap.ssid && ap.passwd && ap.authmode) {
          const pmk = pbkdf2Sync(Buffer.from(ap.passwd, 'utf8'), Buffer.from(ap.ssid, 'utf8'), 4096, 32, 'sha1');
          builder.set('ap.pmk_info', { kind: 'blob', bytes: Buffer.concat([Buffer.alloc(100), pmk]) });
          notes.push(`${at}: added ap.pmk_info (the PMK of ap.ssid/ap.passwd), as nvs_partition_gen.py does`);
        }
      }
      const bytes = row.type === 'file' ? fileBytes(options.files, row.value) : undefined;
      builder.set(row.key, nvsValueOfRow(row, bytes));
      if ((row.key === 'sta.ssid' || row.key === 'sta.pswd') && !staExtras) {
        staExtras = true;
        builder.set('sta.apinfo', { kind: 'blob', bytes: Buffer.alloc(140, 0xff) });
        builder.set('sta.pmk', { kind: 'blob', bytes: Buffer.alloc(32) });
        builder.set('sta.apsw', { kind: 'blob', bytes: Buffer.alloc(2) });
        notes.push(`${at}: added sta.apinfo, sta.pmk and sta.apsw after ${row.key}, as nvs_partition_gen.py does`);
      }
    } catch (error) {
      if (error instanceof InputError) throw new InputError(`${at}: ${error.message}`, { cause: error, details: { ...error.details, line: row.line } });
      throw error;
    }
  }
  return { image: builder.finish(), written: builder.written, readOnly: builder.readOnly, notes };
}

export function fileBytes(files: ReadonlyMap<string, Buffer>, path: string): Buffer {
  const bytes = files.get(path);
  if (!bytes) throw new InputError(`file ${path} was not read`);
  return bytes;
}

/** A row's value as the generator converts it (`bytes`: the file's content for file rows). */
export function nvsValueOfRow(row: NvsCsvRow, bytes: Buffer | undefined): NvsValue {
  const encoding = row.encoding;
  const text = (): string => {
    if (bytes === undefined) return row.value;
    const decoded = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
    try {
      return decoded.decode(bytes);
    } catch {
      throw new InputError(`${row.value} is not UTF-8 text (encoding ${encoding} reads text; use binary for raw bytes)`);
    }
  };
  if (INTEGER_ENCODINGS.has(encoding)) return { kind: 'integer', type: encoding as IntegerTypeName, value: pythonInt(text()) };
  const fill = FILL_ENCODING.exec(encoding);
  if (fill) return { kind: 'blob', bytes: filled(fill[1] as 'blob_fill' | 'blob_sz_fill', Number(fill[2]), Number.parseInt(fill[3]!, 16), text()) };
  switch (encoding) {
    case 'string':
      return { kind: 'string', value: Buffer.from(text(), 'utf8') };
    case 'hex2bin':
      return { kind: 'blob', bytes: hexBytes(text()) };
    case 'base64':
      return { kind: 'blob', bytes: base64Bytes(text()) };
    case 'binary':
      if (bytes !== undefined) return { kind: 'blob', bytes };
      // The generator counts characters here, so only ASCII gives the same bytes.
      if (!/^[\x00-\x7f]*$/.test(row.value)) throw new InputError('binary data given inline must be ASCII (put other bytes in a file)');
      return { kind: 'blob', bytes: Buffer.from(row.value, 'latin1') };
    default:
      throw new InputError(`unknown encoding "${encoding}" (u8, i8, u16, i16, u32, i32, u64, i64, string, hex2bin, base64, binary, blob_fill(N;0xPP), blob_sz_fill(N;0xPP))`);
  }
}

/** What Python's int() accepts: blanks around, a sign, decimal digits with single underscores between. */
function pythonInt(text: string): bigint {
  const trimmed = text.trim();
  if (!/^[+-]?\d+(_\d+)*$/.test(trimmed)) throw new InputError(`${JSON.stringify(text.slice(0, 40))} is not a decimal integer`);
  return BigInt(trimmed.replace(/_/g, ''));
}

function hexBytes(text: string): Buffer {
  const trimmed = text.trim();
  if (trimmed.length % 2 !== 0) throw new InputError(`hex2bin: ${trimmed.length} hex digits, not a multiple of 2`);
  if (!/^[0-9a-fA-F]*$/.test(trimmed)) throw new InputError('hex2bin: not hex digits');
  return Buffer.from(trimmed, 'hex');
}

/** binascii.a2b_base64 (not strict): characters outside the alphabet are skipped. */
function base64Bytes(text: string): Buffer {
  const clean = text.replace(/[^A-Za-z0-9+/=]/g, '');
  const data = clean.replace(/=.*$/s, '');
  if (data.length % 4 === 1) throw new InputError('base64: incomplete data (a single character left over)');
  if (data.length % 4 !== 0 && /^=*/.exec(clean.slice(data.length))![0].length < 4 - (data.length % 4)) throw new InputError('base64: incorrect padding');
  return Buffer.from(data, 'base64');
}

function filled(kind: 'blob_fill' | 'blob_sz_fill', length: number, padding: number, value: string): Buffer {
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length > length) throw new InputError(`${kind}: the value is ${bytes.length} bytes, more than ${length}`);
  const body = Buffer.concat([bytes, Buffer.alloc(length - bytes.length, padding)]);
  if (kind === 'blob_fill') return body;
  const size = Buffer.alloc(4);
  size.writeUInt32LE(bytes.length, 0);
  return Buffer.concat([size, body]);
}
