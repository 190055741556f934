/**
 * What one TLV entry's value holds, read as its type says, and what is wrong with it on its own
 * (checks between entries are in tlv-decode.ts). Never returns private key material.
 */
import { describeStoredCertificate, describeStoredPrivateKey, type StoredCertificate, type StoredPrivateKey } from './credential-values.js';
import { decodeDsContext, decodeDsData, type DsContextInfo, type DsDataInfo } from './ds-values.js';
import { INTEGRITY_VALUE_LENGTH, integrityMatches } from './integrity.js';
import { decodeSignatureBlock, type SignatureBlockInfo } from './signature-block.js';
import type { TlvEntry } from './tlv-entry.js';
import { isUserDataType, privKeyTypeOfFlags, TlvType, type PrivKeyType } from './tlv-types.js';

/** The AES-GCM tag after an HMAC-encrypted key. */
export const HMAC_GCM_TAG_LENGTH = 16;
/** SEC_CFG: eFuse block of the ECDSA key, then 39 zero bytes. */
export const SEC_CFG_LENGTH = 40;
/** eFuse BLOCK_KEY0; key id = block - this. */
export const EFUSE_BLOCK_KEY0 = 4;
/** Bytes of a USER_DATA value shown by `inspect`. */
const PREVIEW_BYTES = 48;

export type TlvValueInfo =
  | { kind: 'certificate'; certificate: StoredCertificate }
  /** `key` for plaintext keys; `ciphertextLength` for HMAC-encrypted ones. */
  | { kind: 'private-key'; keyType: PrivKeyType; key?: StoredPrivateKey; ciphertextLength?: number }
  | { kind: 'ds-data'; dsData: DsDataInfo }
  | { kind: 'ds-context'; dsContext: DsContextInfo }
  | { kind: 'sec-cfg'; efuseBlock: number; efuseKeyId: number }
  | { kind: 'salt' }
  | { kind: 'signature-block'; signature: SignatureBlockInfo }
  /** `ok`: the SHA-256 of the `coveredBytes` before the entry matches. */
  | { kind: 'integrity'; ok: boolean; coveredBytes: number }
  /** The first bytes: as text when they are printable, always as hex. */
  | { kind: 'user-data'; text?: string; hex: string; previewTruncated: boolean }
  /** A value without a layout to show (TEE key, Matter data, unknown types). */
  | { kind: 'opaque' }
  /** The value is not what its type says; the errors say why. */
  | { kind: 'unreadable' };

export interface TlvValueReport {
  info: TlvValueInfo;
  errors: string[];
}

/** Read an entry's value as its type says. `image` is the whole image (INTEGRITY and signatures cover parts of it). */
export function describeTlvValue(entry: TlvEntry, image: Uint8Array): TlvValueReport {
  const { value } = entry;
  switch (entry.type) {
    case TlvType.CA_CERT:
    case TlvType.DEV_CERT: {
      const { info, errors } = describeStoredCertificate(value);
      return { info: info ? { kind: 'certificate', certificate: info } : { kind: 'unreadable' }, errors };
    }
    case TlvType.PRIV_KEY:
      return describePrivateKey(entry);
    case TlvType.DS_DATA: {
      const { info, errors } = decodeDsData(value);
      return { info: info ? { kind: 'ds-data', dsData: info } : { kind: 'unreadable' }, errors };
    }
    case TlvType.DS_CONTEXT: {
      const { info, errors } = decodeDsContext(value);
      return { info: info ? { kind: 'ds-context', dsContext: info } : { kind: 'unreadable' }, errors };
    }
    case TlvType.SEC_CFG:
      return describeSecCfg(value);
    case TlvType.HMAC_ECDSA_KEY_SALT:
      return { info: { kind: 'salt' }, errors: value.length === 0 ? ['an empty salt'] : [] };
    case TlvType.SIGNATURE_BLOCK: {
      const { info, errors } = decodeSignatureBlock(value, image);
      return { info: info ? { kind: 'signature-block', signature: info } : { kind: 'unreadable' }, errors };
    }
    case TlvType.INTEGRITY: {
      if (value.length !== INTEGRITY_VALUE_LENGTH) return { info: { kind: 'unreadable' }, errors: [`${value.length} bytes; an INTEGRITY value is a ${INTEGRITY_VALUE_LENGTH}-byte SHA-256`] };
      const ok = integrityMatches(image, entry.offset, value);
      return { info: { kind: 'integrity', ok, coveredBytes: entry.offset }, errors: ok ? [] : [`it is not the SHA-256 of the ${entry.offset} bytes before it: the image was changed after the hash was made`] };
    }
    default:
      if (isUserDataType(entry.type)) return { info: previewOf(value), errors: [] };
      return { info: { kind: 'opaque' }, errors: [] };
  }
}

function describePrivateKey(entry: TlvEntry): TlvValueReport {
  const keyType = privKeyTypeOfFlags(entry.flags);
  const { value } = entry;
  switch (keyType) {
    case 'HMAC_ENCRYPTED':
      if (value.length < HMAC_GCM_TAG_LENGTH) return { info: { kind: 'private-key', keyType }, errors: [`${value.length} bytes, shorter than the ${HMAC_GCM_TAG_LENGTH}-byte AES-GCM tag of an HMAC-encrypted key`] };
      return { info: { kind: 'private-key', keyType, ciphertextLength: value.length - HMAC_GCM_TAG_LENGTH }, errors: [] };
    case 'HMAC_DERIVED_ECDSA':
      return { info: { kind: 'private-key', keyType }, errors: [] };
    case 'ECDSA_PERIPHERAL':
    case 'DEFAULT': {
      // The ECDSA-peripheral key may be empty (tools ≤ 2.1) or a copy of the key (tool 2.6.1).
      if (value.length === 0) return { info: { kind: 'private-key', keyType }, errors: keyType === 'DEFAULT' ? ['an empty private key'] : [] };
      const { info, errors } = describeStoredPrivateKey(value);
      return { info: info ? { kind: 'private-key', keyType, key: info } : { kind: 'private-key', keyType }, errors };
    }
  }
}

function describeSecCfg(value: Buffer): TlvValueReport {
  if (value.length !== SEC_CFG_LENGTH) return { info: { kind: 'unreadable' }, errors: [`${value.length} bytes; SEC_CFG is ${SEC_CFG_LENGTH}`] };
  const efuseBlock = value[0]!;
  const efuseKeyId = efuseBlock - EFUSE_BLOCK_KEY0;
  const errors = efuseKeyId < 0 || efuseKeyId > 5 ? [`eFuse block ${efuseBlock} is not a key block (BLOCK_KEY0–5 are blocks 4–9)`] : [];
  return { info: { kind: 'sec-cfg', efuseBlock, efuseKeyId }, errors };
}

function previewOf(value: Buffer): TlvValueInfo {
  const head = value.subarray(0, PREVIEW_BYTES);
  const printable = head.length > 0 && head.every((byte) => (byte >= 0x20 && byte < 0x7f) || byte === 0x09 || byte === 0x0a || byte === 0x0d);
  const info: TlvValueInfo = { kind: 'user-data', hex: head.toString('hex'), previewTruncated: value.length > PREVIEW_BYTES };
  if (printable) info.text = head.toString('latin1');
  return info;
}
