/**
 * Parameter parsing for `AT+CMD=<p0>,<p1>,...` (protocol doc §1): strings in double quotes with
 * `\,` `\"` `\\` escapes, integers in decimal (optional leading `-`) or `0x`/`0X` hex, an empty
 * parameter means "omitted". Handlers ask for each parameter with the type they expect, like the
 * firmware's `esp_at_get_para_as_digit` / `esp_at_get_para_as_str`.
 */

export type ParamResult<T> = { kind: 'ok'; value: T } | { kind: 'omitted' } | { kind: 'invalid' };

const INTEGER = /^-?(?:0[xX][0-9a-fA-F]+|[0-9]+)$/;
const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;

/**
 * Split the text after `=` at commas outside double quotes. Returns null when a quote is left
 * open (the whole command is then a parse error).
 */
export function splitArguments(text: string): string[] | null {
  const tokens: string[] = [];
  let current = '';
  let inQuotes = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (inQuotes && ch === '\\' && i + 1 < text.length) {
      // Keep the escape for the string decoder; it only matters here that it hides a quote/comma.
      current += ch + text[i + 1]!;
      i++;
    } else if (ch === '"') {
      inQuotes = !inQuotes;
      current += ch;
    } else if (ch === ',' && !inQuotes) {
      tokens.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  if (inQuotes) return null;
  tokens.push(current);
  return tokens;
}

/** Typed access to the raw parameter tokens of one command line. */
export class AtArguments {
  constructor(readonly tokens: readonly string[]) {}

  get count(): number {
    return this.tokens.length;
  }

  /** Parameter `index` as a 32-bit signed integer. */
  integer(index: number): ParamResult<number> {
    const token = this.tokens[index];
    if (token === undefined || token === '') return { kind: 'omitted' };
    if (!INTEGER.test(token)) return { kind: 'invalid' };
    const negative = token.startsWith('-');
    const body = negative ? token.slice(1) : token;
    const magnitude = /^0[xX]/.test(body) ? Number.parseInt(body.slice(2), 16) : Number.parseInt(body, 10);
    const value = negative ? -magnitude : magnitude;
    if (value < INT32_MIN || value > INT32_MAX) return { kind: 'invalid' };
    return { kind: 'ok', value };
  }

  /** Parameter `index` as a quoted string, escapes decoded. */
  string(index: number): ParamResult<string> {
    const token = this.tokens[index];
    if (token === undefined || token === '') return { kind: 'omitted' };
    if (token.length < 2 || !token.startsWith('"') || !token.endsWith('"')) return { kind: 'invalid' };
    const inner = token.slice(1, -1);
    let value = '';
    for (let i = 0; i < inner.length; i++) {
      const ch = inner[i]!;
      if (ch === '\\' && i + 1 < inner.length) {
        const next = inner[i + 1]!;
        if (next === ',' || next === '"' || next === '\\') {
          value += next;
          i++;
          continue;
        }
      } else if (ch === '"') {
        // An unescaped quote in the middle ("a"b") is malformed.
        return { kind: 'invalid' };
      }
      value += ch;
    }
    return { kind: 'ok', value };
  }
}
