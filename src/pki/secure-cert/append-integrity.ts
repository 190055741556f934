/**
 * configure_esp_secure_cert.py's `--append-integrity`: add an INTEGRITY entry (subtype one above
 * the highest INTEGRITY subtype, 0 if none) holding the SHA-256 of the whole image, then the
 * `FF FF 00 00` end marker.
 */
import { InputError } from '../../errors.js';
import { integrityDigest } from './integrity.js';
import { encodeTlvEntry } from './tlv-entry.js';
import { TLV_END_MARKER, TLV_PARTITION_SIZE } from './tlv-image.js';
import { decodeTlvImage } from './tlv-decode.js';
import { MAX_NAMED_SUBTYPE, TlvType } from './tlv-types.js';

export interface AppendedIntegrity {
  image: Buffer;
  /** The new entry's subtype and offset. */
  subtype: number;
  offset: number;
}

/**
 * The image with an INTEGRITY entry appended over all of it. InputError if the image is not a
 * clean TLV image ending with its last entry (as the tool writes them): appending to a corrupt
 * image would vouch for it, and what the tool does with trailing fill or an end marker is not
 * documented, so that is refused rather than guessed.
 */
export function appendIntegrity(image: Uint8Array): AppendedIntegrity {
  const decoded = decodeTlvImage(image);
  const error = decoded.problems.find((problem) => problem.severity === 'error');
  if (error) throw new InputError(`cannot append an INTEGRITY entry to a damaged image: ${error.message}`, { details: { problem: error } });
  if (decoded.termination !== 'eof') {
    throw new InputError(
      `the image goes on for ${decoded.trailingBytes} bytes after its last entry (${decoded.termination === 'end-marker' ? 'an end marker' : 'erased flash'}); --append-integrity takes an image that ends with its last entry, as configure_esp_secure_cert.py ≥ 2.4 writes them`,
      { details: { trailingBytes: decoded.trailingBytes } },
    );
  }
  const subtypes = decoded.entries.filter(({ entry }) => entry.type === TlvType.INTEGRITY).map(({ entry }) => entry.subtype);
  const subtype = subtypes.length === 0 ? 0 : Math.max(...subtypes) + 1;
  if (subtype > MAX_NAMED_SUBTYPE) throw new InputError(`the image already has INTEGRITY/${subtype - 1}; subtypes stop at ${MAX_NAMED_SUBTYPE}`);
  const entry = encodeTlvEntry({ type: TlvType.INTEGRITY, subtype, value: integrityDigest(image, image.length) });
  const appended = Buffer.concat([image, entry, TLV_END_MARKER]);
  if (appended.length > TLV_PARTITION_SIZE) {
    throw new InputError(`the image would be ${appended.length} bytes, more than the ${TLV_PARTITION_SIZE} bytes of the partition`, { details: { size: appended.length } });
  }
  return { image: appended, subtype, offset: image.length };
}
