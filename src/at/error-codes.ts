/**
 * Decoding of `ERR CODE:0x...` lines (printed before ERROR when AT+SYSLOG=1, protocol §1 and §2.7).
 * Layout: 0x01 <subcategory:8> <extension:16>.
 */

const SUBCATEGORIES: Record<number, string> = {
  0x02: 'command has no terminator',
  0x03: 'command does not start with AT',
  0x04: 'parameter length mismatch',
  0x05: 'parameter type mismatch',
  0x06: 'wrong number of parameters',
  0x07: 'invalid parameter',
  0x08: 'parameter could not be parsed',
  0x09: 'command not supported',
  0x0a: 'command failed',
  0x0b: 'module busy with a previous command',
  0x0c: 'operation error',
};

/** SYSFLASH's own execution-failure codes (subcategory 0x0a), the ones a PKI writer meets. */
const SYSFLASH_FAILURES: Record<number, string> = {
  0x010a0000: 'partition not found in at_customize',
  0x010a0001: 'offset or length not 4 KiB aligned (erase), or range past the end of the partition',
  0x010a0002: 'flash erase failed or the module ran out of memory',
  0x010a0003: 'flash read or write failed',
};

/** Parse `ERR CODE:0x010a0001` → 0x010a0001, or undefined for any other line. */
export function parseErrorCodeLine(line: string): number | undefined {
  const match = /^ERR CODE:0x([0-9a-fA-F]{8})$/.exec(line.trim());
  return match ? Number.parseInt(match[1]!, 16) : undefined;
}

/** A human description of an ESP-AT error code. */
export function describeErrorCode(code: number): string {
  const known = SYSFLASH_FAILURES[code];
  if (known) return known;
  const subcategory = (code >>> 16) & 0xff;
  const extension = code & 0xffff;
  const what = SUBCATEGORIES[subcategory] ?? 'unknown error';
  if (subcategory === 0x08) return `${what} (parameter ${extension})`;
  if (subcategory === 0x06) return `${what} (expected ${extension >> 8}, got ${extension & 0xff})`;
  return what;
}

export function formatErrorCode(code: number): string {
  return `0x${code.toString(16).padStart(8, '0')}`;
}
