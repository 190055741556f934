/**
 * The Digital Signature (DS) peripheral's data as esp_secure_cert stores it. The RSA private key is
 * there only encrypted with a key derived from an eFuse HMAC key, so the host can read the sizes and
 * the IV, never the key.
 *
 * DS_DATA (`esp_ds_data_t`): i32 rsa_length (key bits / 32 - 1) | IV (16) | ciphertext c (C_LEN).
 * DS_CONTEXT (8 bytes): u32 0 (pointer the device fills in) | u8 efuse_key_id | u8 0 | u16 rsa_length_bits.
 */

export const DS_IV_LENGTH = 16;
export const DS_CONTEXT_LENGTH = 8;

/** C_LEN by the largest RSA key the chip's DS peripheral takes (3 * bits / 8 + 48). */
export const DS_CIPHERTEXT_LENGTHS: Readonly<Record<number, number>> = { 3072: 1200, 4096: 1584 };

/** Chips by the largest DS key, for messages. */
export const DS_CHIPS: Readonly<Record<number, string>> = {
  3072: 'esp32c3, esp32c6, esp32h2',
  4096: 'esp32s2, esp32s3, esp32p4, esp32c5',
};

export const DS_RSA_BITS: readonly number[] = [1024, 2048, 3072, 4096];

export interface DsDataInfo {
  /** The stored rsa_length (bits / 32 - 1). */
  rsaLength: number;
  rsaBits: number;
  /** Hex. Not secret: it only makes sense with the eFuse key. */
  iv: string;
  ciphertextLength: number;
  /** The largest key of the chips this ciphertext size is for, when it is one of the known sizes. */
  dsMaxBits?: number;
}

export interface DsContextInfo {
  /** eFuse key id (0–5, BLOCK_KEY<id>) of the HMAC key. */
  efuseKeyId: number;
  rsaLengthBits: number;
}

/** Decode a DS_DATA value (`esp_ds_data_t`); a list of what is wrong instead when it cannot be one. */
export function decodeDsData(value: Buffer): { info?: DsDataInfo; errors: string[] } {
  if (value.length < 4 + DS_IV_LENGTH) return { errors: [`${value.length} bytes, too short for a DS key (rsa_length, IV, ciphertext)`] };
  const ciphertextLength = value.length - 4 - DS_IV_LENGTH;
  const rsaLength = value.readInt32LE(0);
  const info: DsDataInfo = {
    rsaLength,
    rsaBits: (rsaLength + 1) * 32,
    iv: value.subarray(4, 4 + DS_IV_LENGTH).toString('hex'),
    ciphertextLength,
  };
  const errors: string[] = [];
  const maxBits = dsMaxBitsOfCiphertext(ciphertextLength);
  if (maxBits === undefined) {
    errors.push(`ciphertext of ${ciphertextLength} bytes; the DS peripheral takes ${Object.values(DS_CIPHERTEXT_LENGTHS).join(' or ')}`);
  } else {
    info.dsMaxBits = maxBits;
  }
  if (!DS_RSA_BITS.includes(info.rsaBits)) {
    errors.push(`rsa_length ${rsaLength} means a ${info.rsaBits}-bit key; DS keys are ${DS_RSA_BITS.join(', ')} bits`);
  } else if (maxBits !== undefined && info.rsaBits > maxBits) {
    errors.push(`a ${info.rsaBits}-bit key in a ciphertext for chips that take at most ${maxBits} bits (${DS_CHIPS[maxBits]})`);
  }
  return { info, errors };
}

/** The largest key of the chips whose DS ciphertext is `length` bytes, if it is a known size. */
export function dsMaxBitsOfCiphertext(length: number): number | undefined {
  return Object.keys(DS_CIPHERTEXT_LENGTHS).map(Number).find((bits) => DS_CIPHERTEXT_LENGTHS[bits] === length);
}

/** Decode a DS_CONTEXT value. */
export function decodeDsContext(value: Buffer): { info?: DsContextInfo; errors: string[] } {
  if (value.length !== DS_CONTEXT_LENGTH) {
    return { errors: [`${value.length} bytes; a DS context is ${DS_CONTEXT_LENGTH} (the firmware refuses other sizes)`] };
  }
  const info: DsContextInfo = { efuseKeyId: value[4]!, rsaLengthBits: value.readUInt16LE(6) };
  return { info, errors: checkDsParameters(info.efuseKeyId, info.rsaLengthBits) };
}

/** The eFuse key id and key size of a DS key, as DS_CONTEXT and the legacy DS metadata give them. */
export function checkDsParameters(efuseKeyId: number, rsaLengthBits: number): string[] {
  const errors: string[] = [];
  if (efuseKeyId > 5) errors.push(`eFuse key id ${efuseKeyId}; key ids are 0–5 (BLOCK_KEY0–5)`);
  if (!DS_RSA_BITS.includes(rsaLengthBits)) errors.push(`RSA key of ${rsaLengthBits} bits; DS keys are ${DS_RSA_BITS.join(', ')} bits`);
  return errors;
}
