/**
 * Type ids, flag bits and private-key types of the esp_secure_cert TLV format, as
 * esp_secure_cert_mgr defines them (`esp_secure_cert_tlv_config.h`, `esp_secure_cert_tlv_private.h`).
 */

/** The TLV types with a meaning. Ids 10–49 are unassigned; 50 is the reader's end pseudo-type (never stored). */
export const TlvType = {
  CA_CERT: 0,
  DEV_CERT: 1,
  PRIV_KEY: 2,
  DS_DATA: 3,
  DS_CONTEXT: 4,
  HMAC_ECDSA_KEY_SALT: 5,
  SEC_CFG: 6,
  TEE_SEC_STORAGE_KEY: 7,
  SIGNATURE_BLOCK: 8,
  INTEGRITY: 9,
  USER_DATA_1: 51,
  USER_DATA_2: 52,
  USER_DATA_3: 53,
  USER_DATA_4: 54,
  USER_DATA_5: 55,
  MATTER_TLV_1: 201,
  MATTER_TLV_2: 202,
} as const;

export type TlvTypeName = keyof typeof TlvType;

const NAMES = new Map<number, TlvTypeName>(Object.entries(TlvType).map(([name, id]) => [id, name as TlvTypeName]));

/** `DEV_CERT`, or `TYPE_42` for an id without a name. */
export function tlvTypeName(type: number): string {
  return NAMES.get(type) ?? `TYPE_${type}`;
}

export function isKnownTlvType(type: number): boolean {
  return NAMES.has(type);
}

/** USER_DATA_1..5: arbitrary bytes. */
export function isUserDataType(type: number): boolean {
  return type >= TlvType.USER_DATA_1 && type <= TlvType.USER_DATA_5;
}

/** Bits 7..6 of the flags byte: how a PRIV_KEY value is protected. */
export const FLAGS_KEY_PROTECTION_MASK = 0xc0;
/** The value is AES-256-GCM encrypted with a key derived from an eFuse HMAC key. */
export const FLAG_HMAC_ENCRYPTED = 0x80;
/** The (empty) PRIV_KEY stands for an ECDSA key derived from an eFuse HMAC key and a SALT entry. */
export const FLAG_HMAC_DERIVED_ECDSA = 0x40;
/** Bits 5..3: where an ECDSA key lives. */
export const FLAGS_KEY_LOCATION_MASK = 0x38;
/** The ECDSA key is in an eFuse key block (ECDSA peripheral); SEC_CFG names the block. */
export const FLAG_ECDSA_PERIPHERAL = 0x08;

/**
 * The private-key type the firmware reports (`esp_secure_cert_get_priv_key_type`); `NONE` when there
 * is no PRIV_KEY entry (the firmware's INVALID).
 */
export type PrivKeyType = 'DEFAULT' | 'HMAC_ENCRYPTED' | 'HMAC_DERIVED_ECDSA' | 'ECDSA_PERIPHERAL';

/** The firmware's reading of a PRIV_KEY's flags, tested in its order. Legacy 0xFF flags read as DEFAULT. */
export function privKeyTypeOfFlags(flags: number): PrivKeyType {
  if ((flags & FLAGS_KEY_PROTECTION_MASK) === FLAG_HMAC_DERIVED_ECDSA) return 'HMAC_DERIVED_ECDSA';
  if ((flags & FLAGS_KEY_LOCATION_MASK) === FLAG_ECDSA_PERIPHERAL) return 'ECDSA_PERIPHERAL';
  if ((flags & FLAGS_KEY_PROTECTION_MASK) === FLAG_HMAC_ENCRYPTED) return 'HMAC_ENCRYPTED';
  return 'DEFAULT';
}

/** The flag bits set, by name, as the firmware tests them (equal under mask). */
export function flagNames(flags: number): string[] {
  const names: string[] = [];
  if ((flags & FLAGS_KEY_PROTECTION_MASK) === FLAG_HMAC_ENCRYPTED) names.push('HMAC_ENCRYPTED');
  if ((flags & FLAGS_KEY_PROTECTION_MASK) === FLAG_HMAC_DERIVED_ECDSA) names.push('HMAC_DERIVED_ECDSA');
  if ((flags & FLAGS_KEY_LOCATION_MASK) === FLAG_ECDSA_PERIPHERAL) names.push('ECDSA_PERIPHERAL');
  return names;
}

/** Highest subtype with a name in the firmware; `--append-integrity` does not go past it. */
export const MAX_NAMED_SUBTYPE = 16;
