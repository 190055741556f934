/** Text building blocks shared by the `inspect` reports (PKI bins, esp_secure_cert images). */
import { formatKeyInfo, type CertificateInfo } from '../pki/credential.js';

/** An indented `name  value` line. */
export function field(name: string, value: string): string {
  return `  ${name.padEnd(12)} ${value}`;
}

/** What a certificate is: subject, issuer, validity, key, fingerprints. */
export function certificateLines(certificate: CertificateInfo): string[] {
  return [
    field('subject', certificate.subject),
    field('issuer', certificate.issuer),
    field('valid', `${certificate.notBefore} to ${certificate.notAfter}`),
    field('key', `${formatKeyInfo(certificate.publicKey)}${certificate.isCA ? ', CA' : ''}`),
    field('public key', `SHA-256 ${certificate.publicKey.publicKeySha256}`),
    field('fingerprint', `SHA-256 ${certificate.fingerprintSha256}`),
  ];
}
