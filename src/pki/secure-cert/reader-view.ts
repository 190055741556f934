/**
 * What the firmware's reader API (esp_secure_cert_read.h) returns for an image: the device and CA
 * certificates, the private key type, the DS context, the eFuse key of an ECDSA-peripheral key,
 * and the integrity check. TLV lookups are those of firmware built without legacy support: the
 * first entry of the type with subtype 0, refused if its CRC is bad (no fallback to a later one).
 */
import type { DecodedCustFlash } from './cust-flash.js';
import { hexOffset } from './problems.js';
import { entryLabel } from './tlv-entry.js';
import type { DecodedTlvEntry, DecodedTlvImage } from './tlv-decode.js';
import { TlvType, type PrivKeyType } from './tlv-types.js';

/** Where the firmware finds an item, and whether it accepts it (CRC). */
export interface ReaderItem {
  /** `DEV_CERT/0 at 0x02d0`, `dev_cert at 0x0040`. */
  where: string;
  offset: number;
  crcOk: boolean;
}

export interface ReaderDsContext {
  /** eFuse key id (0–5) of the HMAC key. */
  efuseKeyId: number;
  rsaLengthBits: number;
  /** Bytes of the encrypted key (C_LEN). */
  ciphertextLength: number;
  /** IV, hex. */
  iv: string;
  where: string;
}

export interface ReaderView {
  deviceCert?: ReaderItem;
  caCert?: ReaderItem;
  /** Absent: no private key entry (the firmware's INVALID type; normal with the DS peripheral). */
  privateKey?: ReaderItem & { type: PrivKeyType };
  /** ECDSA peripheral: eFuse key id from SEC_CFG/0. */
  privKeyEfuseKeyId?: number;
  dsContext?: ReaderDsContext;
  /** `esp_secure_cert_verify_partition_integrity`; the legacy layout has no INTEGRITY (`absent`). */
  integrity: 'ok' | 'mismatch' | 'absent';
}

export function readerViewOfTlv(image: DecodedTlvImage): ReaderView {
  const lookup = (type: number): DecodedTlvEntry | undefined => image.entries.find(({ entry }) => entry.type === type && entry.subtype === 0);
  const item = (found: DecodedTlvEntry): ReaderItem => ({ where: `${entryLabel(found.entry)} at ${hexOffset(found.entry.offset)}`, offset: found.entry.offset, crcOk: found.entry.crcOk });
  const view: ReaderView = { integrity: image.integrity.status };
  const device = lookup(TlvType.DEV_CERT);
  if (device) view.deviceCert = item(device);
  const ca = lookup(TlvType.CA_CERT);
  if (ca) view.caCert = item(ca);
  const key = lookup(TlvType.PRIV_KEY);
  if (key?.info.kind === 'private-key') view.privateKey = { ...item(key), type: key.info.keyType };
  const secCfg = lookup(TlvType.SEC_CFG);
  if (secCfg?.entry.crcOk && secCfg.info.kind === 'sec-cfg') view.privKeyEfuseKeyId = secCfg.info.efuseKeyId;
  const context = lookup(TlvType.DS_CONTEXT);
  const data = lookup(TlvType.DS_DATA);
  if (context?.info.kind === 'ds-context' && data?.info.kind === 'ds-data' && context.entry.crcOk && data.entry.crcOk) {
    view.dsContext = {
      efuseKeyId: context.info.dsContext.efuseKeyId,
      rsaLengthBits: context.info.dsContext.rsaLengthBits,
      ciphertextLength: data.info.dsData.ciphertextLength,
      iv: data.info.dsData.iv,
      where: `${item(data).where} + ${item(context).where}`,
    };
  }
  return view;
}

export function readerViewOfCustFlash(image: DecodedCustFlash): ReaderView {
  const view: ReaderView = { integrity: 'absent' };
  const item = (name: string): ReaderItem | undefined => {
    const found = image.items.find((candidate) => candidate.name === name && !candidate.absent);
    return found && { where: `${found.name} at ${hexOffset(found.offset)}`, offset: found.offset, crcOk: found.crcOk };
  };
  const device = item('dev_cert');
  if (device) view.deviceCert = device;
  const ca = item('ca_cert');
  if (ca) view.caCert = ca;
  const key = item('priv_key');
  if (key) view.privateKey = { ...key, type: 'DEFAULT' };
  const c = image.items.find((candidate) => candidate.name === 'ds_ciphertext');
  const iv = image.items.find((candidate) => candidate.name === 'ds_iv');
  if (image.ds && c?.crcOk && iv?.crcOk) {
    view.dsContext = { ...image.ds, ciphertextLength: c.length, iv: iv.value!.toString('hex'), where: `ds_ciphertext at ${hexOffset(c.offset)} + ds_iv at ${hexOffset(iv.offset)}` };
  }
  return view;
}
