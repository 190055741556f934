/** Building images from credential files: re-encoding as the reference tool does, refusals, validation of what is stored. */
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { assertPlaintextKeyStorage, buildCustFlash, buildSecureCertTlv, KEY_STORAGES } from '../../src/pki/secure-cert/build.js';
import { encodeCertificateValue, encodePrivateKeyValue } from '../../src/pki/secure-cert/credential-encoding.js';
import { inspectSecureCert } from '../../src/pki/secure-cert/inspect.js';
import { storedCredentials, validateStoredCredentials } from '../../src/pki/secure-cert/stored-credentials.js';
import { fixture } from './paths.js';

const file = (name: string) => ({ content: fixture(name), source: name });
const pem = (name: string) => Buffer.concat([fixture(name), Buffer.of(0)]);

describe('stored values', () => {
  it('stores a PEM certificate as canonical PEM + NUL, and DER as DER', () => {
    expect(encodeCertificateValue(fixture('device.crt'), 'device.crt')).toEqual({ value: pem('device.crt'), encoding: 'pem', notes: [] });
    expect(encodeCertificateValue(fixture('device.crt.der'), 'x').value.equals(fixture('device.crt.der'))).toBe(true);
  });

  it('normalises CRLF and surrounding text, keeps only the first certificate of a bundle and says so', () => {
    const crlf = Buffer.from(`subject=whatever\r\n${fixture('device.crt').toString().replace(/\n/g, '\r\n')}`);
    expect(encodeCertificateValue(crlf, 'crlf.pem').value.equals(pem('device.crt'))).toBe(true);
    const bundle = encodeCertificateValue(Buffer.concat([fixture('device.crt'), fixture('ca.crt')]), 'chain.pem');
    expect(bundle.value.equals(pem('device.crt'))).toBe(true);
    expect(bundle.notes).toEqual([expect.stringMatching(/^chain\.pem holds 2 certificates; only the first \(.*\) is stored, as configure_esp_secure_cert\.py does$/)]);
  });

  it('re-encodes keys TraditionalOpenSSL: EC as SEC1, RSA as PKCS#1; PEM + NUL or DER', () => {
    expect(encodePrivateKeyValue(fixture('device.key'), 'k')).toMatchObject({ value: pem('device-sec1.key'), encoding: 'pem', from: 'pkcs8', to: 'sec1' });
    expect(encodePrivateKeyValue(fixture('device-sec1.key'), 'k').value.equals(pem('device-sec1.key'))).toBe(true);
    expect(encodePrivateKeyValue(fixture('rsa.key'), 'k')).toMatchObject({ value: pem('rsa.key'), from: 'pkcs1', to: 'pkcs1' });
    const der = encodePrivateKeyValue(fixture('device.key.der'), 'k');
    expect(der).toMatchObject({ encoding: 'der', to: 'sec1' });
    expect(der.value.length).toBe(121);
    expect(der.value[der.value.length - 1]).not.toBe(0);
  });

  it.each(['device-encrypted.key', 'device-encrypted.key.der', 'rsa-encrypted.key'])('refuses the encrypted key %s, never storing it in clear', (name) => {
    expect(() => encodePrivateKeyValue(fixture(name), name)).toThrow(InputError);
    expect(() => encodePrivateKeyValue(fixture(name), name)).toThrow(new RegExp(`^${name.replace(/\./g, '\\.')}: the private key is encrypted; .*decrypt it yourself first`));
    expect(() => buildSecureCertTlv({ deviceCert: file('device.crt'), privateKey: file(name) })).toThrow(/is encrypted/);
  });

  it('refuses keys that are neither RSA nor EC, and content of the wrong kind', () => {
    const ed25519 = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' });
    expect(() => encodePrivateKeyValue(Buffer.from(ed25519), 'ed.pem')).toThrow(/^ed\.pem: an ED25519 key; esp_secure_cert stores RSA and EC keys only$/);
    expect(() => encodePrivateKeyValue(fixture('device.crt'), 'device.crt')).toThrow(/^device\.crt: expected a private key, found a certificate$/);
    expect(() => encodePrivateKeyValue(fixture('device-public.pem'), 'pub.pem')).toThrow(/found a public key/);
    expect(() => encodeCertificateValue(fixture('device.key'), 'device.key')).toThrow(/^device\.key: expected a certificate, found a private key$/);
    expect(() => encodeCertificateValue(Buffer.from('hello'), 'x')).toThrow(/found neither/);
  });
});

describe('building images', () => {
  it('writes CA, device certificate, key, INTEGRITY in that order, whatever is given', () => {
    const built = buildSecureCertTlv({ privateKey: file('device.key'), caCert: file('ca.crt'), deviceCert: file('device.crt') });
    expect(built.items.map((item) => [item.name, item.source])).toEqual([
      ['CA_CERT/0', 'ca.crt'],
      ['DEV_CERT/0', 'device.crt'],
      ['PRIV_KEY/0', 'device.key'],
      ['INTEGRITY/0', undefined],
    ]);
    expect(built.items[2]!.stored).toBe('SEC1 PEM private key (from PKCS#8)');
    expect(buildSecureCertTlv({ deviceCert: file('device.crt') }).items.map((item) => item.name)).toEqual(['DEV_CERT/0', 'INTEGRITY/0']);
    expect(() => buildSecureCertTlv({})).toThrow(/nothing to store/);
  });

  it('writes the legacy layout with the device certificate and key; the CA is optional', () => {
    const built = buildCustFlash({ deviceCert: file('device.crt'), privateKey: file('device.key') });
    expect(built.items.map((item) => [item.name, item.offset])).toEqual([
      ['dev_cert', 0x40],
      ['priv_key', 0x1840],
    ]);
    expect(inspectSecureCert(built.image).valid).toBe(true);
    expect(() => buildCustFlash({ caCert: file('ca.crt'), deviceCert: file('device.crt') })).toThrow(/needs a device certificate and a private key/);
  });

  it.each(KEY_STORAGES.filter((storage) => storage !== 'plaintext'))('refuses %s keys: they need eFuse provisioning, which AT commands cannot do', (keyStorage) => {
    expect(() => assertPlaintextKeyStorage(keyStorage)).toThrow(InputError);
    expect(() => buildSecureCertTlv({ privateKey: file('device.key') }, { keyStorage })).toThrow(/cannot be provisioned by at-pki: .*eFuse.*ROM serial loader.*not an ESP-AT firmware over AT commands/);
    expect(() => buildCustFlash({ deviceCert: file('device.crt'), privateKey: file('device.key') }, { keyStorage })).toThrow(InputError);
  });
});

describe('validation of what is stored', () => {
  const validate = (image: Buffer) => validateStoredCredentials(storedCredentials(inspectSecureCert(image).image));

  it('passes a matching set and names entries by where they are', () => {
    const image = buildSecureCertTlv({ caCert: file('ca.crt'), deviceCert: file('device.crt'), privateKey: file('device.key') }).image;
    expect(storedCredentials(inspectSecureCert(image).image).map((item) => [item.type, item.source])).toEqual([
      ['ca', 'CA_CERT/0 at 0x0000'],
      ['cert', expect.stringMatching(/^DEV_CERT\/0 at 0x/)],
      ['key', expect.stringMatching(/^PRIV_KEY\/0 at 0x/)],
    ]);
    expect(validate(image)).toMatchObject({ errors: [], warnings: [] });
  });

  it('finds a key that is not the device certificate’s, and a certificate its CA did not sign', () => {
    const mismatch = validate(buildSecureCertTlv({ deviceCert: file('device.crt'), privateKey: file('other.key') }).image);
    expect(mismatch.errors).toEqual([expect.objectContaining({ code: 'KEY_MISMATCH', message: expect.stringMatching(/^key #0 \(PRIV_KEY\/0 at 0x[0-9a-f]{4}\): does not belong to cert #0 \(DEV_CERT\/0 at /) })]);
    const forged = fixture('device.crt.der');
    forged[forged.length - 5]! ^= 1;
    const unsigned = validate(buildSecureCertTlv({ caCert: file('ca.crt'), deviceCert: { content: forged } }).image);
    expect(unsigned.errors).toEqual([expect.objectContaining({ code: 'BAD_SIGNATURE' })]);
  });

  it('leaves out the PKI-bin-only findings (mixed item types)', () => {
    const result = validate(buildSecureCertTlv({ caCert: file('ca.crt'), deviceCert: file('expired.crt'), privateKey: file('device.key') }).image);
    expect(result.warnings.map((finding) => finding.code)).toEqual(['EXPIRED']);
  });
});
