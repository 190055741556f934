/**
 * Checks a set of items before they go into a bin (or after they come out of one): each item is the
 * kind its type promises, keys are usable, cert #i and key #i belong together (the firmware pairs
 * them by position), certificates are within their validity period and verify against the CAs in
 * the set that they name as issuer. Pure: pass `now` in.
 */
import { createPublicKey, X509Certificate } from 'node:crypto';
import {
  describeCertificate,
  describeKey,
  isoSeconds,
  parseCredential,
  validityOf,
  type CertificateInfo,
  type Encoding,
  type KeyInfo,
  type ParsedCredential,
  type PrivateKeyFormat,
} from './credential.js';
import { describeItem, perTypeIndexes, type ItemRef, type PkiItem } from './types.js';

/** The firmware reads the item count as a signed byte. */
export const FIRMWARE_MAX_ITEMS = 127;

export type FindingCode =
  | 'NOT_A_CERTIFICATE'
  | 'NOT_A_PRIVATE_KEY'
  | 'ENCRYPTED_KEY'
  | 'EXTRA_CONTENT'
  | 'KEY_MISMATCH'
  | 'UNPAIRED'
  | 'BAD_SIGNATURE'
  | 'EXPIRED'
  | 'NOT_YET_VALID'
  | 'MIXED_TYPES'
  | 'TOO_MANY_ITEMS';

export interface Finding {
  code: FindingCode;
  /** Self-contained, starts with the item it is about (`key #0 (client.key): ...`). */
  message: string;
  /** The item it is about; absent for findings about the whole set. */
  item?: ItemRef;
}

export interface ItemReport {
  item: ItemRef;
  /** Content size in bytes. */
  size: number;
  encoding: Encoding;
  /** What the bytes hold. */
  content: ParsedCredential['kind'];
  /** Certificates in the item (a PEM file may hold a chain), leaf first. Empty unless `content` is certificate. */
  certificates: CertificateInfo[];
  /** The key's public facts, when `content` is private-key. Never the key itself. */
  key?: KeyInfo;
  keyFormat?: PrivateKeyFormat;
}

export interface ValidationResult {
  /** One report per input item, in input order. */
  items: ItemReport[];
  /** The module cannot use the set as it is. */
  errors: Finding[];
  /** Worth a look, but usable. */
  warnings: Finding[];
}

export interface ValidateOptions {
  /** The time validity periods are checked against. @default new Date() */
  now?: Date;
}

interface Parsed {
  ref: ItemRef;
  parsed: ParsedCredential;
}

/** Validate items as they would go into one bin (per-type indexes as `encodePkiBin` assigns them). */
export function validatePkiItems(items: readonly PkiItem[], options: ValidateOptions = {}): ValidationResult {
  const now = options.now ?? new Date();
  const errors: Finding[] = [];
  const warnings: Finding[] = [];
  const indexes = perTypeIndexes(items);
  const parsed: Parsed[] = items.map((item, position) => ({
    ref: refOf(item, indexes[position]!),
    parsed: parseCredential(item.content),
  }));

  for (const { ref, parsed: content } of parsed) checkKind(ref, content, errors, warnings);
  for (const { ref, parsed: content } of parsed) {
    if (content.kind === 'certificate') checkValidity(ref, content.certificates, now, warnings);
  }
  checkKeyPairs(parsed, errors, warnings);
  checkIssuers(parsed, errors);
  checkSet(items, warnings);

  return { items: parsed.map(({ ref, parsed: content }, position) => report(ref, items[position]!.content.length, content)), errors, warnings };
}

function refOf(item: PkiItem, index: number): ItemRef {
  return item.source === undefined ? { type: item.type, index } : { type: item.type, index, source: item.source };
}

function finding(code: FindingCode, message: string, item?: ItemRef): Finding {
  return item === undefined ? { code, message } : { code, message: `${describeItem(item)}: ${message}`, item };
}

const FOUND: Readonly<Record<ParsedCredential['kind'], string>> = {
  certificate: 'a certificate',
  'private-key': 'a private key',
  'encrypted-private-key': 'an encrypted private key',
  'public-key': 'a public key',
  unusable: 'neither a certificate nor a private key',
};

function checkKind(ref: ItemRef, content: ParsedCredential, errors: Finding[], warnings: Finding[]): void {
  const wantsKey = ref.type === 'key';
  if (wantsKey && content.kind === 'encrypted-private-key') {
    errors.push(finding('ENCRYPTED_KEY', 'the private key is encrypted and the module cannot decrypt it; store it unencrypted (openssl pkey -in FILE -out PLAIN)', ref));
    return;
  }
  const wanted = wantsKey ? 'private-key' : 'certificate';
  if (content.kind !== wanted) {
    const detail = content.kind === 'unusable' ? ` (${content.reason})` : '';
    errors.push(
      finding(
        wantsKey ? 'NOT_A_PRIVATE_KEY' : 'NOT_A_CERTIFICATE',
        `expected ${wantsKey ? 'a private key' : 'a certificate'}, found ${FOUND[content.kind]}${detail}`,
        ref,
      ),
    );
    return;
  }
  if ((content.kind === 'certificate' || content.kind === 'private-key') && content.alsoContains.length > 0) {
    warnings.push(finding('EXTRA_CONTENT', `also contains ${content.alsoContains.join(', ')}, which goes to the module too`, ref));
  }
}

function checkValidity(ref: ItemRef, certificates: readonly X509Certificate[], now: Date, warnings: Finding[]): void {
  certificates.forEach((certificate, n) => {
    const { notBefore, notAfter } = validityOf(certificate);
    const which = certificates.length > 1 ? `certificate ${n + 1} (${oneLine(certificate.subject)})` : 'the certificate';
    if (now.getTime() > notAfter.getTime()) {
      warnings.push(finding('EXPIRED', `${which} expired on ${isoSeconds(notAfter)}`, ref));
    } else if (now.getTime() < notBefore.getTime()) {
      warnings.push(finding('NOT_YET_VALID', `${which} is not valid before ${isoSeconds(notBefore)}`, ref));
    }
  });
}

/** cert #i and key #i are used together by the firmware: the key must be the certificate's. */
function checkKeyPairs(parsed: readonly Parsed[], errors: Finding[], warnings: Finding[]): void {
  const certs = parsed.filter(({ ref }) => ref.type === 'cert');
  const keys = parsed.filter(({ ref }) => ref.type === 'key');
  if (certs.length === 0 || keys.length === 0) return;
  for (let index = 0; index < Math.max(certs.length, keys.length); index++) {
    const cert = certs[index];
    const key = keys[index];
    if (cert === undefined || key === undefined) {
      const lone = (cert ?? key)!;
      const missing = cert === undefined ? `cert #${index}` : `key #${index}`;
      warnings.push(finding('UNPAIRED', `there is no ${missing} to pair it with`, lone.ref));
      continue;
    }
    if (cert.parsed.kind !== 'certificate' || key.parsed.kind !== 'private-key') continue;
    const leaf = cert.parsed.certificates[0]!;
    if (!leaf.publicKey.equals(createPublicKey(key.parsed.key))) {
      errors.push(
        finding(
          'KEY_MISMATCH',
          `does not belong to ${describeItem(cert.ref)}: their public keys differ (key ${describeKey(key.parsed.key).publicKeySha256.slice(0, 23)}…, certificate ${describeKey(leaf.publicKey).publicKeySha256.slice(0, 23)}…); the firmware uses cert #${index} with key #${index}`,
          key.ref,
        ),
      );
    }
  }
}

/**
 * A certificate that names a CA certificate of the set as its issuer (name and key identifiers, as
 * OpenSSL's X509_check_issued sees it) must verify with that CA's key. Several CAs may share a name:
 * one of them verifying is enough.
 */
function checkIssuers(parsed: readonly Parsed[], errors: Finding[]): void {
  const cas: { ref: ItemRef; certificate: X509Certificate }[] = [];
  for (const { ref, parsed: content } of parsed) {
    if (ref.type === 'ca' && content.kind === 'certificate') {
      for (const certificate of content.certificates) cas.push({ ref, certificate });
    }
  }
  for (const { ref, parsed: content } of parsed) {
    if (content.kind !== 'certificate') continue;
    content.certificates.forEach((certificate, n) => {
      const candidates = cas.filter((ca) => certificate.checkIssued(ca.certificate));
      if (certificate.checkIssued(certificate) && !candidates.some((ca) => ca.certificate === certificate)) {
        candidates.push({ ref, certificate });
      }
      if (candidates.length === 0 || candidates.some((ca) => certificate.verify(ca.certificate.publicKey))) return;
      const which = content.certificates.length > 1 ? `certificate ${n + 1}'s` : 'its';
      const against = candidates
        .map((ca) => (ca.certificate === certificate ? 'its own key (self-signed)' : `${describeItem(ca.ref)} ${JSON.stringify(oneLine(ca.certificate.subject))}`))
        .join(', ');
      errors.push(finding('BAD_SIGNATURE', `${which} signature does not verify with the issuer it names: ${against}`, ref));
    });
  }
}

/** Findings about the bin as a whole. */
function checkSet(items: readonly PkiItem[], warnings: Finding[]): void {
  const types = [...new Set(items.map((item) => item.type))];
  if (types.length > 1) {
    warnings.push(
      finding('MIXED_TYPES', `the bin mixes item types (${types.join(', ')}); ESP-AT expects one type per partition (*_ca, *_cert, *_key) and picks items by position without looking at their type`),
    );
  }
  if (items.length > FIRMWARE_MAX_ITEMS) {
    warnings.push(finding('TOO_MANY_ITEMS', `${items.length} items; the firmware reads the item count as a signed byte and cannot use more than ${FIRMWARE_MAX_ITEMS}`));
  }
}

function oneLine(distinguishedName: string): string {
  return distinguishedName.split('\n').join(', ');
}

function report(ref: ItemRef, size: number, content: ParsedCredential): ItemReport {
  const base: ItemReport = { item: ref, size, encoding: content.encoding, content: content.kind, certificates: [] };
  if (content.kind === 'certificate') base.certificates = content.certificates.map(describeCertificate);
  if (content.kind === 'private-key') {
    base.key = describeKey(content.key);
    base.keyFormat = content.format;
  }
  return base;
}
