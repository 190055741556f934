/**
 * Build an esp_secure_cert partition image from certificate and key files, as
 * configure_esp_secure_cert.py 2.6.1 does without the DS peripheral: TLV (the default) or the
 * legacy cust_flash layout.
 *
 * Only plaintext keys can be provisioned by writing flash over AT commands. The DS peripheral,
 * ECDSA-in-eFuse and HMAC-protected keys need eFuse keys burned through the ROM serial loader
 * (espefuse.py), which an ESP-AT firmware cannot do: asking for them is an InputError.
 */
import { InputError } from '../../errors.js';
import { keyFormatName } from './credential-values.js';
import { encodeCertificateValue, encodePrivateKeyValue } from './credential-encoding.js';
import { CUST_FLASH_REGIONS, encodeCustFlash } from './cust-flash.js';
import { entryLabel, type TlvEntryInput } from './tlv-entry.js';
import { encodeTlvImage, walkTlvImage } from './tlv-image.js';
import { TlvType } from './tlv-types.js';

/** How the private key is kept. Everything but plaintext needs eFuse provisioning. */
export type KeyStorage = 'plaintext' | 'ds-peripheral' | 'ecdsa-peripheral' | 'hmac-encrypted' | 'hmac-derived';

export const KEY_STORAGES: readonly KeyStorage[] = ['plaintext', 'ds-peripheral', 'ecdsa-peripheral', 'hmac-encrypted', 'hmac-derived'];

const EFUSE_NEEDS: Readonly<Record<Exclude<KeyStorage, 'plaintext'>, string>> = {
  'ds-peripheral': 'the DS peripheral needs its HMAC key burned into an eFuse key block',
  'ecdsa-peripheral': 'the ECDSA peripheral needs the private key burned into an eFuse key block',
  'hmac-encrypted': 'an HMAC-encrypted key needs its HMAC key burned into an eFuse key block',
  'hmac-derived': 'an HMAC-derived key needs its HMAC key burned into an eFuse key block',
};

/** One credential file. */
export interface CredentialFile {
  content: Uint8Array;
  /** The file name, for messages. */
  source?: string;
}

export interface SecureCertCredentials {
  caCert?: CredentialFile;
  deviceCert?: CredentialFile;
  privateKey?: CredentialFile;
}

export interface BuildSecureCertOptions {
  /** @default 'plaintext' (the only one accepted) */
  keyStorage?: KeyStorage;
}

/** Where one stored credential landed. */
export interface BuiltItem {
  /** `DEV_CERT/0` (TLV) or `dev_cert` (cust_flash). */
  name: string;
  offset: number;
  length: number;
  source?: string;
  /** What is stored, for people: `PEM certificate`, `SEC1 PEM private key (from PKCS#8)`, `SHA-256 of the 1552 bytes before it`. */
  stored: string;
}

export interface BuiltSecureCert {
  image: Buffer;
  items: BuiltItem[];
  /** Content of the input files that was left out (printed as warnings). */
  notes: string[];
}

/** InputError for anything but plaintext keys, saying why. */
export function assertPlaintextKeyStorage(keyStorage: KeyStorage): void {
  if (keyStorage === 'plaintext') return;
  throw new InputError(
    `${keyStorage} keys cannot be provisioned by at-pki: ${EFUSE_NEEDS[keyStorage]}, which only the ROM serial loader can do (espefuse.py / configure_esp_secure_cert.py --configure_ds), not an ESP-AT firmware over AT commands; at-pki writes plaintext keys only`,
    { details: { keyStorage } },
  );
}

/** The TLV image: CA_CERT/0, DEV_CERT/0, PRIV_KEY/0 (those given, in that order), then INTEGRITY/0. */
export function buildSecureCertTlv(credentials: SecureCertCredentials, options: BuildSecureCertOptions = {}): BuiltSecureCert {
  assertPlaintextKeyStorage(options.keyStorage ?? 'plaintext');
  const values = encodeValues(credentials);
  if (values.length === 0) throw new InputError('nothing to store: give a CA certificate, a device certificate or a private key');
  return buildTlvFromValues(values);
}

/** The TLV image of `values`, in the order given, then INTEGRITY/0. */
export function buildTlvFromValues(values: readonly StoredValue[]): BuiltSecureCert {
  const entries: TlvEntryInput[] = values.map(({ type, subtype, value }) => ({ type, subtype, value }));
  const image = encodeTlvImage(entries);
  const items = walkTlvImage(image).entries.map((entry, n): BuiltItem => {
    const input = values[n];
    const item: BuiltItem = {
      name: entryLabel(entry),
      offset: entry.offset,
      length: entry.length,
      stored: input ? input.stored : `SHA-256 of the ${entry.offset} bytes before it`,
    };
    if (input?.source !== undefined) item.source = input.source;
    return item;
  });
  return { image, items, notes: values.flatMap(({ notes }) => notes) };
}

/** The legacy cust_flash image (plaintext key): needs the device certificate and the key; the CA is optional. */
export function buildCustFlash(credentials: SecureCertCredentials, options: BuildSecureCertOptions = {}): BuiltSecureCert {
  assertPlaintextKeyStorage(options.keyStorage ?? 'plaintext');
  if (credentials.deviceCert === undefined || credentials.privateKey === undefined) {
    throw new InputError('the cust_flash layout needs a device certificate and a private key (the CA certificate is optional)');
  }
  const values = encodeValues(credentials);
  const value = (type: number): Buffer | undefined => values.find((entry) => entry.type === type)?.value;
  const caCert = value(TlvType.CA_CERT);
  const image = encodeCustFlash({ deviceCert: value(TlvType.DEV_CERT)!, privateKey: value(TlvType.PRIV_KEY)!, ...(caCert ? { caCert } : {}) });
  const names: Readonly<Record<number, keyof typeof CUST_FLASH_REGIONS>> = { [TlvType.DEV_CERT]: 'dev_cert', [TlvType.CA_CERT]: 'ca_cert', [TlvType.PRIV_KEY]: 'priv_key' };
  const items = values.map(({ type, value, stored, source }): BuiltItem => {
    const name = names[type]!;
    return { name, offset: CUST_FLASH_REGIONS[name].offset, length: value.length, stored, ...(source !== undefined ? { source } : {}) };
  });
  return { image, items, notes: values.flatMap(({ notes }) => notes) };
}

/** One value to store, encoded, with what it is for people. */
export interface StoredValue {
  type: number;
  subtype: number;
  value: Buffer;
  /** What is stored: `PEM certificate`, `SEC1 PEM private key (from PKCS#8)`. */
  stored: string;
  /** Content of the input that was left out (printed as warnings). */
  notes: string[];
  source?: string;
}

/** A certificate (CA_CERT, DEV_CERT) or plaintext key (PRIV_KEY) file encoded as the reference tool stores it; `label` names it in messages. */
export function encodeCredentialValue(type: number, subtype: number, file: CredentialFile, label: string): StoredValue {
  const source = file.source !== undefined ? { source: file.source } : {};
  if (type === TlvType.PRIV_KEY) {
    const encoded = encodePrivateKeyValue(file.content, label);
    const stored = `${keyFormatName(encoded.to)} ${encoded.encoding.toUpperCase()} private key${encoded.from === encoded.to ? '' : ` (from ${keyFormatName(encoded.from)})`}`;
    return { type, subtype, value: encoded.value, stored, notes: encoded.notes, ...source };
  }
  const encoded = encodeCertificateValue(file.content, label);
  return { type, subtype, value: encoded.value, stored: `${encoded.encoding.toUpperCase()} certificate`, notes: encoded.notes, ...source };
}

/** The given credentials in the reference tool's order (CA, device, key), encoded for storage. */
function encodeValues(credentials: SecureCertCredentials): StoredValue[] {
  const values: StoredValue[] = [];
  const push = (type: number, file: CredentialFile | undefined, role: string): void => {
    if (file !== undefined) values.push(encodeCredentialValue(type, 0, file, file.source ?? role));
  };
  push(TlvType.CA_CERT, credentials.caCert, 'the CA certificate');
  push(TlvType.DEV_CERT, credentials.deviceCert, 'the device certificate');
  push(TlvType.PRIV_KEY, credentials.privateKey, 'the private key');
  return values;
}
