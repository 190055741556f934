/**
 * Per-device issuance: a fresh key for each unit and a certificate for it signed by the factory CA,
 * with the unit's eFuse MAC in its subject. The private key exists only in memory, in the returned
 * object, until the caller has written and verified it on the module; it is never written to disk,
 * logged, or put in any record (the caller keeps only the public facts: serial, SHA-256, subject).
 */
import { createHash, generateKeyPair, randomBytes, X509Certificate } from 'node:crypto';
import { promisify } from 'node:util';
import { InputError } from '../../errors.js';
import { isoSeconds, validityOf } from '../../pki/credential.js';
import type { FactoryCa } from './factory-ca.js';
import { x509 } from './x509.js';

export { loadFactoryCa, type FactoryCa, type FactoryCaInput } from './factory-ca.js';

export type DeviceKeyType = 'ec-p256' | 'rsa-2048';

export interface IssueOptions {
  /** @default 'ec-p256' */
  keyType?: DeviceKeyType;
  /** Validity in days from now. @default DEFAULT_DAYS, shortened to the CA's own expiry when that comes first */
  days?: number;
  /** Subject distinguished name with `{mac}` where the MAC goes. @default 'CN={mac}' */
  subjectTemplate?: string;
  /** The time of issue. @default new Date() */
  now?: Date;
}

/** One unit's credential set. `privateKeyPem` is secret: hand it to the module and nowhere else. */
export interface IssuedCredentials {
  /** PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`), for client_key. */
  privateKeyPem: string;
  /** The unit's certificate, PEM, for client_cert. */
  certificatePem: string;
  /** The factory CA certificate and its chain, PEM, for client_ca. */
  caChainPem: string;
  /** The serial number, 32 lowercase hex digits. */
  serialHex: string;
  /** SHA-256 of the DER certificate, 64 lowercase hex digits. */
  sha256Hex: string;
  /** As node prints distinguished names, comma-separated: `CN=aabbccddeeff`. */
  subject: string;
  notBefore: Date;
  notAfter: Date;
}

export const DEFAULT_SUBJECT_TEMPLATE = 'CN={mac}';
/** Ten years: devices outlive their first owner's certificate renewal plans. */
export const DEFAULT_DAYS = 3650;
export const MAX_DAYS = 36_500;
/** Clocks on the line and on servers disagree a little; a certificate valid from "now" would be refused by a server a minute behind. */
export const BACKDATE_MS = 5 * 60 * 1000;
export const SERIAL_BYTES = 16;

const MAC = /^[0-9a-f]{12}$/;
const PLACEHOLDER = /\{([^{}]*)\}/g;
const DAY_MS = 24 * 60 * 60 * 1000;

const generateKeyPairAsync = promisify(generateKeyPair);

/**
 * Check issuance options before any unit is touched: the subject template, the key type and the
 * validity (which must not outlive the CA). Throws InputError (exit 2).
 */
export function checkIssueOptions(ca: FactoryCa, options: IssueOptions = {}): void {
  subjectFor(options.subjectTemplate ?? DEFAULT_SUBJECT_TEMPLATE, '000000000000');
  keyAlgorithm(options.keyType ?? 'ec-p256');
  validity(ca, options);
}

/** Generate a key for the unit with this MAC and issue its certificate. */
export async function issueDeviceCredentials(ca: FactoryCa, mac: string, options: IssueOptions = {}): Promise<IssuedCredentials> {
  if (!MAC.test(mac)) throw new InputError(`the MAC must be 12 lowercase hex digits, got '${mac}'`, { details: { mac } });
  const keyType = options.keyType ?? 'ec-p256';
  const subject = subjectFor(options.subjectTemplate ?? DEFAULT_SUBJECT_TEMPLATE, mac);
  const { notBefore, notAfter } = validity(ca, options);

  const { publicKey, privateKey } = await generateKeyPairAsync(keyAlgorithm(keyType) as 'ec', keyOptions(keyType) as { namedCurve: string });
  const spki = new x509.PublicKey(publicKey.export({ type: 'spki', format: 'der' }));
  const keyUsage = x509.KeyUsageFlags.digitalSignature | (keyType === 'rsa-2048' ? x509.KeyUsageFlags.keyEncipherment : 0);

  const generated = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerialHex(),
    subject,
    issuer: ca.issuer.subjectName,
    notBefore,
    notAfter,
    publicKey: spki,
    signingKey: ca.signingKey,
    signingAlgorithm: ca.signingAlgorithm,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(keyUsage, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
      await x509.SubjectKeyIdentifierExtension.create(spki),
      new x509.AuthorityKeyIdentifierExtension(ca.keyIdentifierHex),
    ],
  });

  const der = Buffer.from(generated.rawData);
  const certificate = new X509Certificate(der);
  const encoded = validityOf(certificate);
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    certificatePem: certificate.toString(),
    caChainPem: ca.chainPem,
    serialHex: certificate.serialNumber.toLowerCase(),
    sha256Hex: createHash('sha256').update(der).digest('hex'),
    subject: certificate.subject.split('\n').join(', '),
    notBefore: encoded.notBefore,
    notAfter: encoded.notAfter,
  };
}

/** The template with `{mac}` filled in; refuses templates that would not name the unit or do not parse. */
export function subjectFor(template: string, mac: string): string {
  const unknown = [...template.matchAll(PLACEHOLDER)].map((match) => match[0]).filter((placeholder) => placeholder !== '{mac}');
  if (unknown.length > 0) throw new InputError(`subject template '${template}': unknown placeholder ${unknown[0]} (only {mac} is filled in)`);
  if (!template.includes('{mac}')) throw new InputError(`subject template '${template}' lacks {mac}: every unit would get the same subject`);
  const subject = template.replaceAll('{mac}', mac);
  let parsed: x509.Name;
  try {
    parsed = new x509.Name(subject);
  } catch (error) {
    throw new InputError(`subject template '${template}' is not a distinguished name (${error instanceof Error ? error.message : String(error)})`);
  }
  if (parsed.toJSON().length === 0 || !parsed.toString().includes(mac)) {
    throw new InputError(`subject template '${template}' is not a distinguished name like 'CN={mac}, O=Example'`);
  }
  return subject;
}

function keyAlgorithm(keyType: string): 'ec' | 'rsa' {
  if (keyType === 'ec-p256') return 'ec';
  if (keyType === 'rsa-2048') return 'rsa';
  throw new InputError(`unknown key type '${keyType}' (expected ec-p256 or rsa-2048)`);
}

function keyOptions(keyType: DeviceKeyType): { namedCurve: string } | { modulusLength: number } {
  return keyType === 'ec-p256' ? { namedCurve: 'prime256v1' } : { modulusLength: 2048 };
}

/** Certificate times have whole seconds; so do ours, so what we report is what is encoded. */
function wholeSeconds(ms: number): Date {
  return new Date(Math.floor(ms / 1000) * 1000);
}

function validity(ca: FactoryCa, options: IssueOptions): { notBefore: Date; notAfter: Date } {
  const now = (options.now ?? new Date()).getTime();
  if (now > ca.notAfter.getTime()) throw new InputError(`the CA certificate (${ca.subject}) expired on ${isoSeconds(ca.notAfter)}`);
  const notBefore = wholeSeconds(Math.max(now - BACKDATE_MS, ca.notBefore.getTime()));
  if (options.days === undefined) {
    return { notBefore, notAfter: wholeSeconds(Math.min(now + DEFAULT_DAYS * DAY_MS, ca.notAfter.getTime())) };
  }
  const days = options.days;
  if (!Number.isInteger(days) || days < 1 || days > MAX_DAYS) throw new InputError(`--days must be a whole number from 1 to ${MAX_DAYS}, got ${days}`);
  const notAfter = wholeSeconds(now + days * DAY_MS);
  if (notAfter.getTime() > ca.notAfter.getTime()) {
    const fits = Math.floor((ca.notAfter.getTime() - now) / DAY_MS);
    throw new InputError(`--days ${days} would outlive the CA certificate, which expires on ${isoSeconds(ca.notAfter)}; use --days ${fits} or fewer`, {
      details: { days, caNotAfter: isoSeconds(ca.notAfter) },
    });
  }
  return { notBefore, notAfter };
}

/** 16 random bytes, first byte 0x01–0x7F: positive, and exactly 16 bytes in DER (no sign byte, no leading zero). */
function randomSerialHex(): string {
  const serial = randomBytes(SERIAL_BYTES);
  serial[0] = serial[0]! & 0x7f || 0x01;
  return serial.toString('hex');
}
