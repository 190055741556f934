/** What the esp_secure_cert decoders find wrong with an image. */

export type SecureCertProblemCode =
  /** An entry's (or legacy item's) stored CRC does not match its bytes. */
  | 'CRC_MISMATCH'
  /** An entry or item runs past the end of the file. */
  | 'TRUNCATED'
  /** TLV entries after a position where the reader stops: it can never reach them. */
  | 'UNREACHABLE_DATA'
  /** An INTEGRITY entry's SHA-256 does not match the bytes before it. */
  | 'INTEGRITY_MISMATCH'
  /** A signature block that does not check out (digest, CRC, RSA-PSS signature, lengths). */
  | 'BAD_SIGNATURE_BLOCK'
  /** A value the firmware cannot use as its type says (a CA_CERT that is no certificate, a DS_CONTEXT of the wrong size...). */
  | 'BAD_VALUE'
  /** Entries that belong together do not (DS_DATA without DS_CONTEXT, different key sizes...). */
  | 'INCONSISTENT'
  /** Legacy layout: the metadata magic is missing, or lengths do not fit the fixed regions. */
  | 'BAD_METADATA'
  /** The same (type, subtype) twice: the firmware only ever sees the first. */
  | 'DUPLICATE_ENTRY'
  /** A type id esp_secure_cert_mgr does not define. */
  | 'UNKNOWN_TYPE'
  /** Header written by tools v2.0.0–v2.0.5 (flags and reserved bytes 0xFF): fine for every reader. */
  | 'LEGACY_HEADER'
  /** After the last entry: neither erased flash, nor the end marker, nor the end of the file. */
  | 'TRAILING_DATA'
  /** Entries after the last INTEGRITY entry, which its hash does not cover. */
  | 'NOT_COVERED';

export interface SecureCertProblem {
  /** error: the image is corrupt or the firmware cannot use it; warning: worth knowing. */
  severity: 'error' | 'warning';
  code: SecureCertProblemCode;
  /** Self-contained, starts with where (`DEV_CERT/0 at 0x02d0: ...`). */
  message: string;
  /** Byte offset in the image it is about. */
  offset?: number;
}

/** `0x02d0`: offsets in messages (4 hex digits, more when needed). */
export function hexOffset(offset: number): string {
  return `0x${offset.toString(16).padStart(4, '0')}`;
}
