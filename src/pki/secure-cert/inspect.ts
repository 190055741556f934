/** Decode an esp_secure_cert image of either layout, with the firmware's view of it. Pure; never throws on bad data. */
import { decodeCustFlash, type DecodedCustFlash } from './cust-flash.js';
import { readerViewOfCustFlash, readerViewOfTlv, type ReaderView } from './reader-view.js';
import { hasTlvMagic } from './tlv-entry.js';
import { decodeTlvImage, type DecodedTlvImage } from './tlv-decode.js';

export type DecodedSecureCert = DecodedTlvImage | DecodedCustFlash;

export interface SecureCertInspection {
  image: DecodedSecureCert;
  reader: ReaderView;
  /** True when the decoder found no error (CRCs, lengths, hashes, values). */
  valid: boolean;
}

/** TLV if the image starts with the magic, else the legacy cust_flash layout (as the firmware decides). */
export function inspectSecureCert(bytes: Uint8Array): SecureCertInspection {
  const image = hasTlvMagic(bytes) ? decodeTlvImage(bytes) : decodeCustFlash(bytes);
  const reader = image.layout === 'tlv' ? readerViewOfTlv(image) : readerViewOfCustFlash(image);
  return { image, reader, valid: !image.problems.some((problem) => problem.severity === 'error') };
}
