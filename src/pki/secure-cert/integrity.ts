/**
 * The INTEGRITY entry (type 9): the SHA-256 of every image byte before its header. The firmware's
 * `esp_secure_cert_verify_partition_integrity` checks the last one in the image.
 */
import { createHash } from 'node:crypto';

export const INTEGRITY_VALUE_LENGTH = 32;

/** SHA-256 of `image[0, end)`. */
export function integrityDigest(image: Uint8Array, end: number): Buffer {
  return createHash('sha256').update(image.subarray(0, end)).digest();
}

/** True if `value` is the INTEGRITY value for an entry at `offset` of `image`. */
export function integrityMatches(image: Uint8Array, offset: number, value: Uint8Array): boolean {
  return value.length === INTEGRITY_VALUE_LENGTH && integrityDigest(image, offset).equals(value);
}
