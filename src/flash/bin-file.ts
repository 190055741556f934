/** Read a bin file (or a partition read-back) and decode it, for commands that take one. */
import { InputError } from '../errors.js';
import type { CredentialReadOptions } from './credential-files.js';
import { readRegularFile } from './regular-file.js';
import { decodePkiBin, type DecodedPkiBin } from '../pki/bin-format.js';
import { detectFormat, type DetectedFormat } from '../pki/detect-format.js';

/** No flash chip of an ESP-AT module is larger. */
export const MAX_BIN_FILE_BYTES = 16 * 1024 * 1024;

/** A file read whole, with what its content looks like. */
export interface BinFile {
  path: string;
  bytes: Buffer;
  format: DetectedFormat;
}

export interface LoadedBin extends BinFile {
  bin: DecodedPkiBin;
}

/** Read a file and recognise its format by content. InputError (exit 2) if it cannot be read or is too large. */
export async function readBinFile(path: string, options: CredentialReadOptions = {}): Promise<BinFile> {
  const bytes = await readRegularFile(path, { maxBytes: MAX_BIN_FILE_BYTES, tooLarge: 'larger than any ESP flash', ...options });
  return { path, bytes, format: detectFormat(bytes) };
}

/** InputError (exit 2), prefixed with the path and naming the byte offset, for anything that is not a readable PKI bin. */
export async function loadPkiBinFile(path: string): Promise<LoadedBin> {
  return decodePkiBinFile(await readBinFile(path));
}

/** Decode a file read by readBinFile as a PKI bin; InputError as loadPkiBinFile. */
export function decodePkiBinFile(file: BinFile): LoadedBin {
  const { path, bytes, format } = file;
  switch (format.format) {
    case 'atpki':
      try {
        return { ...file, bin: decodePkiBin(bytes) };
      } catch (error) {
        if (error instanceof InputError) throw new InputError(`${path}: ${error.message}`, { cause: error, details: { path, ...error.details } });
        throw error;
      }
    case 'esp-secure-cert':
    case 'esp-secure-cert-cust-flash':
    case 'nvs':
    case 'esp-secure-cert-nvs':
      throw new InputError(`${path}: not an ESP-AT PKI bin but an ${format.description}; 'at-pki inspect' shows what it holds`, {
        details: { path, format: format.format },
      });
    case 'erased':
      throw new InputError(`${path}: no PKI data, all ${bytes.length} bytes are 0xFF (erased flash)`, { details: { path, offset: 0 } });
    case 'empty':
      throw new InputError(`${path} is empty`, { details: { path } });
    case 'unknown': {
      const head = [...bytes.subarray(0, 8)].map((byte) => byte.toString(16).padStart(2, '0')).join(' ');
      throw new InputError(`${path}: not an ESP-AT PKI bin: bad magic at offset 0 (starts ${head}, expected f1 f1)`, {
        details: { path, offset: 0 },
      });
    }
  }
}
