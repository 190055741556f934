/**
 * Exact bytes of the ESP-AT final result codes and error-code lines (protocol doc §1, §2.7).
 * Kept in one place so every command family prints the same framing.
 */

/** `\r\nOK\r\n` */
export const RESULT_OK = '\r\nOK\r\n';
/** `\r\nERROR\r\n` (also used for FAIL). */
export const RESULT_ERROR = '\r\nERROR\r\n';
/** Unsolicited boot line. */
export const READY_LINE = '\r\nready\r\n';
/** Reply to any input chunk received while a command runs. */
export const BUSY_LINE = '\r\nbusy p...\r\n';
/** Printed when a busy chunk contains `AT+RST\r\n`; the module then restarts. */
export const FORCE_RESTART_LINE = '\r\nWill force to restart!!!\r\n';
/** The SYSFLASH write prompt: one byte, no line ending. */
export const WRITE_PROMPT = '>';
/** The AT+SYSMFG string/blob write prompt: OK, a blank line, then `>` (nothing after it). */
export const MFG_WRITE_PROMPT = '\r\nOK\r\n\r\n>';

/** Error codes: `0x01 <subcategory:8> <extension:16>` (esp_at_core.h). */
export const ErrorCode = {
  /** Line does not start with "AT". */
  NO_AT: 0x01030000,
  /** Unknown command or unsupported form (query/set/test/execute). */
  UNSUPPORTED_COMMAND: 0x01090000,
  /** A command is still running (the busy reply). */
  BUSY: 0x010b0000,
  /** AT+SYSFLASH: partition label not found. */
  SYSFLASH_NO_PARTITION: 0x010a0000,
  /** AT+SYSFLASH: erase not 4 KiB aligned (fatal) / range exceeds partition (warning only). */
  SYSFLASH_RANGE_OR_ALIGNMENT: 0x010a0001,
  /** AT+SYSFLASH: erase failed or malloc failed. */
  SYSFLASH_ERASE_OR_ALLOC: 0x010a0002,
  /** AT+SYSFLASH: partition write/read failed. */
  SYSFLASH_IO: 0x010a0003,
} as const;

/** `0x0108000N`: parameter N (0-based) could not be parsed. */
export function paramParseFailCode(paramIndex: number): number {
  return 0x01080000 + paramIndex;
}

/** `ERR CODE:0x%08x\r\n`, lower-case hex. */
export function errorCodeLine(code: number): string {
  return `ERR CODE:0x${code.toString(16).padStart(8, '0')}\r\n`;
}
