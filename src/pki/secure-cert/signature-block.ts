/**
 * SIGNATURE_BLOCK (type 8) values: a signature over the partition bytes before it, made with a
 * secure-boot key (`esp_secure_cert_signature_verify.c`).
 *
 * ```
 * u8 version (1) | 3 reserved | u32 offset | u32 length | u8 algorithm | 3 reserved | signature data
 * ```
 * algorithm 0 (RSA3072): the data is a 1216-byte secure boot v2 signature block:
 * `E7 02 00 00 | SHA-256 of the signed bytes (32) | n (384, LE) | e (u32) | rinv (384) | m' (u32) |
 * RSA-PSS signature (384, LE) | CRC-32 of the bytes before it (u32, standard CRC) | 16 zero bytes`.
 * algorithms 1–3 (ECDSA P-192/P-256/P-384): curve id (1) + X‖Y, then r‖s.
 *
 * RSA blocks are checked completely here (digest, CRC, signature with the key they carry); whether
 * that key is one the chip trusts is up to its eFuse key digests, which only the device knows.
 */
import { constants, createHash, createPublicKey, verify } from 'node:crypto';
import { crc32Le } from './crc.js';

export const SIGNATURE_HEADER_LENGTH = 16;
const SBV2_BLOCK_LENGTH = 1216;
const SBV2_MAGIC = 0xe7;
const SBV2_VERSION_RSA = 0x02;
const RSA3072_BYTES = 384;
const SBV2_KEY_OFFSET = 36;
/** n, e, rinv, m': what the eFuse key digest covers. */
const SBV2_KEY_LENGTH = RSA3072_BYTES + 4 + RSA3072_BYTES + 4;
const SBV2_SIGNATURE_OFFSET = SBV2_KEY_OFFSET + SBV2_KEY_LENGTH;
const SBV2_CRC_OFFSET = SBV2_SIGNATURE_OFFSET + RSA3072_BYTES;

const ALGORITHMS = ['RSA3072', 'ECDSA192', 'ECDSA256', 'ECDSA384'] as const;
export type SignatureAlgorithm = (typeof ALGORITHMS)[number];

/** Public key (curve id + X‖Y) and signature (r‖s) sizes of the ECDSA algorithms. */
const ECDSA_SIZES: Readonly<Record<Exclude<SignatureAlgorithm, 'RSA3072'>, { key: number; signature: number }>> = {
  ECDSA192: { key: 49, signature: 48 },
  ECDSA256: { key: 65, signature: 64 },
  ECDSA384: { key: 97, signature: 96 },
};

export interface SignatureBlockInfo {
  version: number;
  /** The signed range of the image: `[offset, offset + signedLength)`. */
  offset: number;
  signedLength: number;
  /** The algorithm byte, by name when known. */
  algorithm: SignatureAlgorithm | `unknown (${number})`;
  /**
   * verified: RSA3072 block whose digest, CRC and signature check out with the key it carries;
   * unchecked: ECDSA block of the right shape (its signature is left to the device);
   * failed: see the errors.
   */
  check: 'verified' | 'unchecked' | 'failed';
  /** RSA3072: SHA-256 of the public key material (n, e, rinv, m'), what a secure boot eFuse key digest holds. */
  publicKeyDigest?: string;
}

/** Decode and check one signature block value against the image it sits in. */
export function decodeSignatureBlock(value: Buffer, image: Uint8Array): { info?: SignatureBlockInfo; errors: string[] } {
  if (value.length < SIGNATURE_HEADER_LENGTH) return { errors: [`${value.length} bytes, shorter than the ${SIGNATURE_HEADER_LENGTH}-byte signature header`] };
  const code = value[12]!;
  const info: SignatureBlockInfo = {
    version: value[0]!,
    offset: value.readUInt32LE(4),
    signedLength: value.readUInt32LE(8),
    algorithm: ALGORITHMS[code] ?? `unknown (${code})`,
    check: 'failed',
  };
  const errors: string[] = [];
  if (info.version !== 1) errors.push(`signature block version ${info.version}; the firmware knows version 1`);
  if (info.offset + info.signedLength > image.length) {
    errors.push(`signs ${info.signedLength} bytes from offset ${info.offset}, past the end of the ${image.length}-byte image`);
  }
  const data = value.subarray(SIGNATURE_HEADER_LENGTH);
  if (info.algorithm === 'RSA3072') {
    if (data.length !== SBV2_BLOCK_LENGTH) {
      errors.push(`an RSA3072 signature block is ${SIGNATURE_HEADER_LENGTH + SBV2_BLOCK_LENGTH} bytes, this one ${value.length}`);
    } else if (errors.length === 0) {
      errors.push(...checkRsaBlock(data, image.subarray(info.offset, info.offset + info.signedLength), info));
    }
  } else if (info.algorithm in ECDSA_SIZES) {
    const sizes = ECDSA_SIZES[info.algorithm as keyof typeof ECDSA_SIZES];
    const expected = SIGNATURE_HEADER_LENGTH + sizes.key + sizes.signature;
    if (value.length !== expected) errors.push(`an ${info.algorithm} signature block is ${expected} bytes, this one ${value.length}`);
  } else {
    errors.push(`algorithm ${code} is none of ${ALGORITHMS.map((name, n) => `${n} ${name}`).join(', ')}`);
  }
  if (errors.length === 0) info.check = info.algorithm === 'RSA3072' ? 'verified' : 'unchecked';
  return { info, errors };
}

/** The secure boot v2 RSA block: magic, CRC, image digest, RSA-PSS (SHA-256, salt 32) signature. */
function checkRsaBlock(block: Buffer, signed: Uint8Array, info: SignatureBlockInfo): string[] {
  if (block[0] !== SBV2_MAGIC || block[1] !== SBV2_VERSION_RSA) {
    return [`the RSA block starts ${block.subarray(0, 2).toString('hex')}, not e702 (secure boot v2 RSA)`];
  }
  const keyMaterial = block.subarray(SBV2_KEY_OFFSET, SBV2_KEY_OFFSET + SBV2_KEY_LENGTH);
  info.publicKeyDigest = createHash('sha256').update(keyMaterial).digest('hex');
  const errors: string[] = [];
  if (block.readUInt32LE(SBV2_CRC_OFFSET) !== crc32Le(0, block.subarray(0, SBV2_CRC_OFFSET))) errors.push('the RSA block CRC does not match');
  if (!createHash('sha256').update(signed).digest().equals(block.subarray(4, 36))) {
    errors.push('the image digest in the RSA block is not the SHA-256 of the signed bytes');
  }
  const n = Buffer.from(block.subarray(SBV2_KEY_OFFSET, SBV2_KEY_OFFSET + RSA3072_BYTES)).reverse();
  const e = Buffer.alloc(4);
  e.writeUInt32BE(block.readUInt32LE(SBV2_KEY_OFFSET + RSA3072_BYTES));
  const signature = Buffer.from(block.subarray(SBV2_SIGNATURE_OFFSET, SBV2_CRC_OFFSET)).reverse();
  let valid: boolean;
  try {
    const key = createPublicKey({ key: { kty: 'RSA', n: n.toString('base64url'), e: trimLeadingZeros(e).toString('base64url') }, format: 'jwk' });
    valid = verify('sha256', signed, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, signature);
  } catch {
    valid = false;
  }
  if (!valid) errors.push('the RSA-PSS signature does not verify with the key in the block');
  return errors;
}

function trimLeadingZeros(bytes: Buffer): Buffer {
  const first = bytes.findIndex((byte) => byte !== 0);
  return first === -1 ? bytes.subarray(bytes.length - 1) : bytes.subarray(first);
}
