import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { PkiItem } from '../../src/pki/types.js';
import { validatePkiItems, type FindingCode, type ValidationResult } from '../../src/pki/validate.js';
import { atpkiVectorsDir, fixture, fixtureItem as fx } from './paths.js';

/** Inside every fixture certificate's validity (2020–2119) and outside expired.crt / future.crt. */
const NOW = new Date('2050-01-01T00:00:00Z');

function validate(items: PkiItem[], now = NOW): ValidationResult {
  return validatePkiItems(items, { now });
}

function codes(findings: { code: FindingCode }[]): FindingCode[] {
  return findings.map((finding) => finding.code);
}

function vectorItem(type: PkiItem['type'], path: string): PkiItem {
  return { type, content: readFileSync(join(atpkiVectorsDir, path)), source: path };
}

/** device.crt with the last byte of its signature changed. */
function tamperedDeviceCert(): PkiItem {
  const der = Buffer.from(new X509Certificate(fixture('device.crt')).raw);
  der[der.length - 1] ^= 0x01;
  return { type: 'cert', content: der, source: 'tampered.crt' };
}

describe('a good set', () => {
  it('has no errors, and reports each item without key material', () => {
    const result = validate([fx('cert', 'device.crt'), fx('key', 'device.key')]);
    expect(result.errors).toEqual([]);
    expect(result.warnings).toEqual([expect.objectContaining({ code: 'MIXED_TYPES' })]);
    const [cert, key] = result.items;
    expect(cert).toMatchObject({
      item: { type: 'cert', index: 0, source: 'device.crt' },
      encoding: 'pem',
      content: 'certificate',
      certificates: [
        {
          subject: 'CN=at-pki test device, O=at-pki tests',
          issuer: 'CN=at-pki Test Root CA, O=at-pki tests',
          notBefore: '2020-01-01T00:00:00Z',
          notAfter: '2119-12-31T23:59:59Z',
          isCA: false,
          publicKey: { algorithm: 'ec', curve: 'prime256v1' },
        },
      ],
    });
    expect(key).toMatchObject({ item: { type: 'key', index: 0 }, content: 'private-key', keyFormat: 'pkcs8', key: { algorithm: 'ec', curve: 'prime256v1' } });
    // openssl pkey -in device.key -pubout -outform DER | openssl dgst -sha256 -c
    const devicePublicKeySha256 = '7B:22:CD:37:25:30:9F:58:88:C2:85:86:CE:23:F8:3D:B7:2A:29:D1:01:61:70:90:9E:68:41:92:E8:85:A6:21';
    expect(key!.key!.publicKeySha256).toBe(devicePublicKeySha256);
    expect(cert!.certificates[0]!.publicKey.publicKeySha256).toBe(devicePublicKeySha256);
  });

  it('reports the SHA-256 fingerprint openssl shows', () => {
    const [report] = validate([vectorItem('cert', 'client_cert/client_cert_00.crt')]).items;
    expect(report!.certificates[0]!.fingerprintSha256).toBe(
      '6B:A0:A5:36:C6:D7:95:0A:9E:48:74:87:A4:7C:CC:E8:9A:7B:1D:6C:99:35:EA:32:14:A4:86:FC:3C:B5:F5:6C',
    );
    expect(report!.certificates[0]!.publicKey).toMatchObject({ algorithm: 'rsa', bits: 2048 });
  });

  it('never puts private key bytes into the result', () => {
    const keyPem = fixture('rsa.key').toString();
    const json = JSON.stringify(validate([fx('cert', 'rsa.crt'), fx('key', 'rsa.key')]));
    const keyDer = createPrivateKey(keyPem).export({ type: 'pkcs1', format: 'der' });
    for (const line of keyPem.split('\n').filter((text) => text.length > 40)) expect(json).not.toContain(line);
    expect(json).not.toContain(keyDer.toString('base64').slice(0, 40));
    expect(json).not.toContain(keyDer.toString('hex').slice(0, 40));
  });

  it.each([
    ['DER certificate + PKCS#8 DER key', 'device.crt.der', 'device.key.der', 'der', 'pkcs8'],
    ['PEM certificate + SEC1 PEM key', 'device.crt', 'device-sec1.key', 'pem', 'sec1'],
    ['PEM certificate + PKCS#1 RSA key', 'rsa.crt', 'rsa.key', 'pem', 'pkcs1'],
  ])('accepts a %s', (_name, certFile, keyFile, keyEncoding, keyFormat) => {
    const result = validate([fx('cert', certFile), fx('key', keyFile)]);
    expect(result.errors).toEqual([]);
    expect(result.items[1]).toMatchObject({ encoding: keyEncoding, keyFormat });
  });

  it('reads every certificate of a PEM chain', () => {
    const chain = Buffer.concat([fixture('device.crt'), fixture('ca.crt')]);
    const [report] = validate([{ type: 'cert', content: chain }]).items;
    expect(report!.certificates.map((certificate) => certificate.subject)).toEqual([
      'CN=at-pki test device, O=at-pki tests',
      'CN=at-pki Test Root CA, O=at-pki tests',
    ]);
  });

  it('accepts CAs that share a name (client_ca vector): one of them verifying is enough', () => {
    const result = validate([vectorItem('ca', 'client_ca/client_ca_00.crt'), vectorItem('ca', 'client_ca/client_ca_01.crt')]);
    expect(result.errors).toEqual([]);
  });
});

describe('key and certificate pairing', () => {
  it('is an error when key #i is not the key of cert #i', () => {
    const result = validate([fx('cert', 'device.crt'), fx('key', 'other.key')]);
    expect(codes(result.errors)).toEqual(['KEY_MISMATCH']);
    expect(result.errors[0]!.item).toEqual({ type: 'key', index: 0, source: 'other.key' });
    expect(result.errors[0]!.message).toMatch(/^key #0 \(other\.key\): does not belong to cert #0 \(device\.crt\)/);
  });

  it('pairs by per-type index, not by input position', () => {
    const ordered = validate([fx('cert', 'rsa.crt'), fx('cert', 'device.crt'), fx('key', 'rsa.key'), fx('key', 'device.key')]);
    expect(ordered.errors).toEqual([]);
    const swapped = validate([fx('cert', 'rsa.crt'), fx('cert', 'device.crt'), fx('key', 'device.key'), fx('key', 'rsa.key')]);
    expect(codes(swapped.errors)).toEqual(['KEY_MISMATCH', 'KEY_MISMATCH']);
  });

  it('warns about a certificate without a key at its index', () => {
    const result = validate([fx('cert', 'device.crt'), fx('key', 'device.key'), fx('cert', 'rsa.crt')]);
    expect(result.errors).toEqual([]);
    expect(result.warnings).toContainEqual(expect.objectContaining({ code: 'UNPAIRED', item: { type: 'cert', index: 1, source: 'rsa.crt' } }));
  });
});

describe('validity period', () => {
  it('warns about an expired certificate', () => {
    const result = validate([fx('cert', 'expired.crt')]);
    expect(result.warnings).toEqual([expect.objectContaining({ code: 'EXPIRED', message: 'cert #0 (expired.crt): the certificate expired on 2001-01-01T00:00:00Z' })]);
  });

  it('warns about a certificate that is not valid yet', () => {
    const result = validate([fx('ca', 'future.crt')]);
    expect(result.warnings).toEqual([expect.objectContaining({ code: 'NOT_YET_VALID', item: { type: 'ca', index: 0, source: 'future.crt' } })]);
  });

  it('checks against the time given', () => {
    expect(validate([fx('cert', 'expired.crt')], new Date('2000-06-01T00:00:00Z')).warnings).toEqual([]);
    expect(codes(validate([fx('cert', 'device.crt')], new Date('2120-01-01T00:00:00Z')).warnings)).toEqual(['EXPIRED']);
  });
});

describe('issuer signatures', () => {
  it('accepts a certificate that verifies with the CA of the set it names as issuer', () => {
    expect(validate([fx('ca', 'ca.crt'), fx('cert', 'device.crt')]).errors).toEqual([]);
  });

  it('is an error when the signature does not verify with that CA', () => {
    const result = validate([fx('ca', 'ca.crt'), tamperedDeviceCert()]);
    expect(codes(result.errors)).toEqual(['BAD_SIGNATURE']);
    expect(result.errors[0]!.message).toMatch(/^cert #0 \(tampered\.crt\): its signature does not verify with the issuer it names: ca #0 \(ca\.crt\)/);
  });

  it('does not check certificates whose issuer is not in the set', () => {
    expect(validate([tamperedDeviceCert()]).errors).toEqual([]);
  });

  it('catches the mixed_types vector: its client certificate was not signed by the CA of the same name', () => {
    const result = validate([vectorItem('cert', 'mixed_types/mqtt_client.crt'), vectorItem('key', 'mixed_types/mqtt_client.key'), vectorItem('ca', 'mixed_types/mqtt_ca.crt')]);
    expect(codes(result.errors)).toEqual(['BAD_SIGNATURE']);
  });
});

describe('content that is not what the type promises', () => {
  it.each<[string, PkiItem, FindingCode, RegExp]>([
    ['an encrypted PKCS#8 PEM key', fx('key', 'device-encrypted.key'), 'ENCRYPTED_KEY', /encrypted/],
    ['an encrypted PKCS#8 DER key', fx('key', 'device-encrypted.key.der'), 'ENCRYPTED_KEY', /encrypted/],
    ['a traditionally encrypted RSA key', fx('key', 'rsa-encrypted.key'), 'ENCRYPTED_KEY', /encrypted/],
    ['a public key as key', fx('key', 'device-public.pem'), 'NOT_A_PRIVATE_KEY', /found a public key/],
    ['a certificate as key', fx('key', 'device.crt'), 'NOT_A_PRIVATE_KEY', /expected a private key, found a certificate/],
    ['a key as certificate', fx('cert', 'device.key'), 'NOT_A_CERTIFICATE', /expected a certificate, found a private key/],
    ['a key as CA', fx('ca', 'device.key.der'), 'NOT_A_CERTIFICATE', /^ca #0 \(device\.key\.der\): expected a certificate, found a private key/],
    ['garbage as certificate', { type: 'cert', content: Buffer.from('hello, world\n') }, 'NOT_A_CERTIFICATE', /neither a certificate nor a private key \(not PEM, and not a DER/],
    ['garbage as key', { type: 'key', content: Buffer.from([0x30, 0x03, 0x02, 0x01, 0x00]) }, 'NOT_A_PRIVATE_KEY', /neither/],
    ['a PEM certificate cut short', { type: 'cert', content: fixture('device.crt').subarray(0, 200) }, 'NOT_A_CERTIFICATE', /BEGIN line without a matching END/],
    ['a damaged PEM certificate', { type: 'cert', content: Buffer.from(fixture('device.crt').toString().replace(/^M/m, '!')) }, 'NOT_A_CERTIFICATE', /certificate block 1 does not parse/],
  ])('%s is an error', (_name, item, code, message) => {
    const result = validate([item]);
    expect(codes(result.errors)).toEqual([code]);
    expect(result.errors[0]!.message).toMatch(message);
  });

  it('warns when a certificate file also carries a private key', () => {
    const result = validate([{ type: 'cert', content: Buffer.concat([fixture('device.crt'), fixture('device.key')]) }]);
    expect(result.errors).toEqual([]);
    expect(result.warnings).toEqual([expect.objectContaining({ code: 'EXTRA_CONTENT', message: expect.stringMatching(/also contains a private key/) })]);
  });
});

describe('the set as a whole', () => {
  it('warns when more items than the firmware can count (127)', () => {
    const der = fixture('device.crt.der');
    expect(validate(Array.from({ length: 127 }, () => ({ type: 'ca' as const, content: der }))).warnings).toEqual([]);
    expect(codes(validate(Array.from({ length: 128 }, () => ({ type: 'ca' as const, content: der }))).warnings)).toEqual(['TOO_MANY_ITEMS']);
  });
});
