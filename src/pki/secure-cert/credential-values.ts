/**
 * Certificates and plaintext private keys as esp_secure_cert stores them (TLV values and legacy
 * cust_flash items): PEM text followed by one NUL byte (the length counts it; mbedTLS needs it to
 * parse PEM), or DER. These describe a stored value without ever returning key material.
 */
import { describeCertificate, describeKey, parseCredential, type CertificateInfo, type Encoding, type KeyInfo, type PrivateKeyFormat } from '../credential.js';

export interface StoredCertificate {
  encoding: Encoding;
  /** The certificates in the value, leaf first (a PEM value may hold a chain). */
  certificates: CertificateInfo[];
}

export interface StoredPrivateKey {
  encoding: Encoding;
  keyFormat: PrivateKeyFormat;
  /** Public facts only. */
  key: KeyInfo;
}

const KEY_FORMAT_NAMES: Readonly<Record<PrivateKeyFormat, string>> = { pkcs1: 'PKCS#1', pkcs8: 'PKCS#8', sec1: 'SEC1' };

/** `PKCS#1`, `PKCS#8`, `SEC1`. */
export function keyFormatName(format: PrivateKeyFormat): string {
  return KEY_FORMAT_NAMES[format];
}

/** What a stored certificate value holds, or why the firmware cannot use it. */
export function describeStoredCertificate(value: Uint8Array): { info?: StoredCertificate; errors: string[] } {
  const parsed = parseCredential(value);
  if (parsed.kind !== 'certificate') return { errors: [`not a certificate: ${whatItIs(parsed)}`] };
  return { info: { encoding: parsed.encoding, certificates: parsed.certificates.map(describeCertificate) }, errors: nulErrors(value, parsed.encoding) };
}

/** What a stored plaintext private key value holds, or why the firmware cannot use it. */
export function describeStoredPrivateKey(value: Uint8Array): { info?: StoredPrivateKey; errors: string[] } {
  const parsed = parseCredential(value);
  if (parsed.kind === 'encrypted-private-key') return { errors: ['a password-encrypted private key, which the firmware cannot decrypt'] };
  if (parsed.kind !== 'private-key') return { errors: [`not a private key: ${whatItIs(parsed)}`] };
  return { info: { encoding: parsed.encoding, keyFormat: parsed.format, key: describeKey(parsed.key) }, errors: nulErrors(value, parsed.encoding) };
}

function nulErrors(value: Uint8Array, encoding: Encoding): string[] {
  return encoding === 'pem' && value[value.length - 1] !== 0 ? ['PEM text without the trailing NUL byte, which mbedTLS needs to parse it'] : [];
}

function whatItIs(parsed: ReturnType<typeof parseCredential>): string {
  switch (parsed.kind) {
    case 'unusable':
      return parsed.reason;
    case 'public-key':
      return 'a public key';
    case 'certificate':
      return 'a certificate';
    case 'private-key':
    case 'encrypted-private-key':
      return 'a private key';
  }
}
