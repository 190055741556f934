/**
 * What one item's bytes hold: certificate(s), a private key, or something the module cannot use.
 * Pure (node:crypto only). Reports never carry private key material: only the algorithm, the size
 * and a fingerprint of the public half.
 */
import { createHash, createPrivateKey, createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';

/** The public facts about a key. */
export interface KeyInfo {
  /** `rsa`, `ec`, `ed25519`... (node's asymmetricKeyType). */
  algorithm: string;
  /** RSA/DSA modulus size in bits. */
  bits?: number;
  /** EC named curve (`prime256v1`, `secp384r1`...). */
  curve?: string;
  /** SHA-256 of the DER SubjectPublicKeyInfo, colon-separated hex: equal for a key and its certificate. */
  publicKeySha256: string;
}

export interface CertificateInfo {
  /** Distinguished names, `C=CN, O=Example, CN=Root CA`. */
  subject: string;
  issuer: string;
  serialNumber: string;
  /** ISO 8601. */
  notBefore: string;
  notAfter: string;
  /** basicConstraints CA:TRUE. */
  isCA: boolean;
  /** SHA-256 of the DER certificate, colon-separated hex (as `openssl x509 -fingerprint -sha256`). */
  fingerprintSha256: string;
  publicKey: KeyInfo;
}

export type Encoding = 'pem' | 'der';
export type PrivateKeyFormat = 'pkcs8' | 'pkcs1' | 'sec1';

/** The outcome of looking at one item's bytes. Key objects stay in memory for cross-checks; never print them. */
export type ParsedCredential =
  | { kind: 'certificate'; encoding: Encoding; certificates: X509Certificate[]; alsoContains: string[] }
  | { kind: 'private-key'; encoding: Encoding; format: PrivateKeyFormat; key: KeyObject; alsoContains: string[] }
  | { kind: 'encrypted-private-key'; encoding: Encoding }
  | { kind: 'public-key'; encoding: Encoding }
  | { kind: 'unusable'; encoding: Encoding; reason: string };

interface PemBlock {
  label: string;
  text: string;
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;
const CERTIFICATE_LABELS = new Set(['CERTIFICATE', 'X509 CERTIFICATE', 'TRUSTED CERTIFICATE']);
const PRIVATE_KEY_LABELS: Readonly<Record<string, PrivateKeyFormat>> = {
  'PRIVATE KEY': 'pkcs8',
  'RSA PRIVATE KEY': 'pkcs1',
  'EC PRIVATE KEY': 'sec1',
};
const PUBLIC_KEY_LABELS = new Set(['PUBLIC KEY', 'RSA PUBLIC KEY']);
/** Blocks that may sit next to a key or certificate without meaning anything to the module. */
const IGNORED_LABELS = new Set(['EC PARAMETERS']);

/** True if the bytes look like PEM text (a `-----BEGIN ` line somewhere). */
export function isPem(content: Uint8Array): boolean {
  return Buffer.from(content.buffer, content.byteOffset, content.byteLength).includes('-----BEGIN ');
}

/** Look at an item's bytes: PEM (any block labels) or DER (a certificate, or a PKCS#8/PKCS#1/SEC1 key). */
export function parseCredential(content: Uint8Array): ParsedCredential {
  return isPem(content) ? parsePem(Buffer.from(content).toString('latin1')) : parseDer(Buffer.from(content));
}

function parsePem(text: string): ParsedCredential {
  const blocks: PemBlock[] = [...text.matchAll(PEM_BLOCK)].map((match) => ({ label: match[1]!, text: match[0] }));
  if (blocks.length === 0) return { kind: 'unusable', encoding: 'pem', reason: 'a PEM BEGIN line without a matching END line' };
  const certificates = blocks.filter((block) => CERTIFICATE_LABELS.has(block.label));
  const keys = blocks.filter((block) => block.label in PRIVATE_KEY_LABELS || block.label === 'ENCRYPTED PRIVATE KEY');
  const others = blocks.filter((block) => !CERTIFICATE_LABELS.has(block.label) && !keys.includes(block) && !IGNORED_LABELS.has(block.label));

  if (certificates.length > 0) {
    const parsed: X509Certificate[] = [];
    for (const [n, block] of certificates.entries()) {
      try {
        parsed.push(new X509Certificate(block.text));
      } catch (error) {
        return { kind: 'unusable', encoding: 'pem', reason: `certificate block ${n + 1} does not parse (${cryptoMessage(error)})` };
      }
    }
    const alsoContains = [...keys, ...others].map((block) => describeLabel(block.label));
    return { kind: 'certificate', encoding: 'pem', certificates: parsed, alsoContains };
  }
  const keyBlock = keys[0];
  if (keyBlock !== undefined) {
    if (keyBlock.label === 'ENCRYPTED PRIVATE KEY' || /^Proc-Type:\s*4,\s*ENCRYPTED/m.test(keyBlock.text)) {
      return { kind: 'encrypted-private-key', encoding: 'pem' };
    }
    try {
      const key = createPrivateKey({ key: keyBlock.text, format: 'pem' });
      const alsoContains = [...keys.slice(1), ...others].map((block) => describeLabel(block.label));
      return { kind: 'private-key', encoding: 'pem', format: PRIVATE_KEY_LABELS[keyBlock.label]!, key, alsoContains };
    } catch (error) {
      return { kind: 'unusable', encoding: 'pem', reason: `the ${keyBlock.label} block does not parse (${cryptoMessage(error)})` };
    }
  }
  if (blocks.some((block) => PUBLIC_KEY_LABELS.has(block.label))) return { kind: 'public-key', encoding: 'pem' };
  return { kind: 'unusable', encoding: 'pem', reason: `PEM ${blocks.map((block) => `'${block.label}'`).join(', ')}, neither a certificate nor a private key` };
}

function parseDer(der: Buffer): ParsedCredential {
  try {
    return { kind: 'certificate', encoding: 'der', certificates: [new X509Certificate(der)], alsoContains: [] };
  } catch {
    // not a certificate: try the key formats
  }
  for (const format of ['pkcs8', 'pkcs1', 'sec1'] as const) {
    try {
      return { kind: 'private-key', encoding: 'der', format, key: createPrivateKey({ key: der, format: 'der', type: format }), alsoContains: [] };
    } catch (error) {
      if ((error as { code?: unknown }).code === 'ERR_MISSING_PASSPHRASE') return { kind: 'encrypted-private-key', encoding: 'der' };
    }
  }
  try {
    createPublicKey({ key: der, format: 'der', type: 'spki' });
    return { kind: 'public-key', encoding: 'der' };
  } catch {
    return { kind: 'unusable', encoding: 'der', reason: 'not PEM, and not a DER certificate or private key' };
  }
}

function describeLabel(label: string): string {
  if (label in PRIVATE_KEY_LABELS || label === 'ENCRYPTED PRIVATE KEY') return 'a private key';
  if (CERTIFICATE_LABELS.has(label)) return 'a certificate';
  return `a '${label}' block`;
}

/** OpenSSL messages come as `error:1E08010C:DECODER routines::unsupported`: keep the readable tail. */
export function cryptoMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/^error:[0-9A-F]+:/, '').replace(/::/g, ': ');
}

function colonHex(digest: Buffer): string {
  return [...digest].map((byte) => byte.toString(16).toUpperCase().padStart(2, '0')).join(':');
}

/** DER SubjectPublicKeyInfo of a public key, or of a private key's public half. */
function spkiOf(key: KeyObject): Buffer {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  return publicKey.export({ type: 'spki', format: 'der' });
}

export function describeKey(key: KeyObject): KeyInfo {
  const details = key.asymmetricKeyDetails ?? {};
  const info: KeyInfo = {
    algorithm: key.asymmetricKeyType ?? 'unknown',
    publicKeySha256: colonHex(createHash('sha256').update(spkiOf(key)).digest()),
  };
  if (details.modulusLength !== undefined) info.bits = details.modulusLength;
  if (details.namedCurve !== undefined) info.curve = details.namedCurve;
  return info;
}

/** `2029-06-18T08:00:23Z` (certificate times have no fractions of a second). */
export function isoSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Validity bounds of a certificate as Dates. */
export function validityOf(certificate: X509Certificate): { notBefore: Date; notAfter: Date } {
  return { notBefore: new Date(certificate.validFrom), notAfter: new Date(certificate.validTo) };
}

export function describeCertificate(certificate: X509Certificate): CertificateInfo {
  const { notBefore, notAfter } = validityOf(certificate);
  return {
    subject: certificate.subject.split('\n').join(', '),
    issuer: certificate.issuer.split('\n').join(', '),
    serialNumber: certificate.serialNumber,
    notBefore: isoSeconds(notBefore),
    notAfter: isoSeconds(notAfter),
    isCA: certificate.ca,
    fingerprintSha256: certificate.fingerprint256,
    publicKey: describeKey(certificate.publicKey),
  };
}

/** `RSA 2048`, `EC prime256v1`, `ED25519`. */
export function formatKeyInfo(info: KeyInfo): string {
  const size = info.bits !== undefined ? ` ${info.bits}` : info.curve !== undefined ? ` ${info.curve}` : '';
  return `${info.algorithm.toUpperCase()}${size}`;
}
