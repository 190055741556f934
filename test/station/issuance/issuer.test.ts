import { createHash, createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodePkiBin } from '../../../src/pki/bin-format.js';
import { MFG_MAX_VALUE_LENGTH } from '../../../src/flash/sysmfg.js';
import { checkIssueOptions, issueDeviceCredentials, loadFactoryCa, type FactoryCa, type IssuedCredentials } from '../../../src/station/issuance/issuer.js';
import { x509 } from '../../../src/station/issuance/x509.js';
import { makeTestCa, type TestCa } from './test-ca.js';

const MAC = 'a0b1c2d3e4f5';
const NOW = new Date('2030-06-01T12:00:00.250Z');
const DAY = 24 * 60 * 60 * 1000;

let testCa: TestCa;
let ca: FactoryCa;

beforeAll(async () => {
  testCa = await makeTestCa();
  ca = await loadFactoryCa({ certPem: testCa.certPem, keyPem: testCa.keyPem });
});

function parsed(issued: IssuedCredentials): { node: X509Certificate; peculiar: x509.X509Certificate } {
  return { node: new X509Certificate(issued.certificatePem), peculiar: new x509.X509Certificate(issued.certificatePem) };
}

describe('issueDeviceCredentials', () => {
  it('issues an EC P-256 certificate for the MAC that verifies against the CA and matches its key', async () => {
    const issued = await issueDeviceCredentials(ca, MAC, { now: NOW });
    const { node } = parsed(issued);
    const caCert = new X509Certificate(testCa.certPem);

    expect(node.checkIssued(caCert)).toBe(true);
    expect(node.verify(caCert.publicKey)).toBe(true);
    expect(node.subject).toBe(`CN=${MAC}`);
    expect(issued.subject).toBe(`CN=${MAC}`);
    expect(node.issuer).toBe(caCert.subject);
    expect(node.ca).toBe(false);

    const key = createPrivateKey(issued.privateKeyPem);
    expect(issued.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(key.asymmetricKeyType).toBe('ec');
    expect(key.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(createPublicKey(key).equals(node.publicKey)).toBe(true);

    expect(issued.caChainPem).toBe(testCa.certPem);
    expect(issued.sha256Hex).toBe(createHash('sha256').update(node.raw).digest('hex'));
    expect(issued.sha256Hex).toBe(node.fingerprint256.replaceAll(':', '').toLowerCase());
  });

  it('gives the certificate a random positive 16-byte serial', async () => {
    const serials = new Set<string>();
    for (let n = 0; n < 8; n++) {
      const issued = await issueDeviceCredentials(ca, MAC, { now: NOW });
      expect(issued.serialHex).toMatch(/^[0-7][0-9a-f]{31}$/);
      expect(issued.serialHex.slice(0, 2)).not.toBe('00');
      expect(issued.serialHex).toBe(parsed(issued).node.serialNumber.toLowerCase());
      // The DER INTEGER holds exactly these 16 bytes: no sign byte, nothing dropped.
      expect(parsed(issued).peculiar.serialNumber).toBe(issued.serialHex);
      serials.add(issued.serialHex);
    }
    expect(serials.size).toBe(8);
  });

  it('makes a fresh key for every certificate, even for the same MAC', async () => {
    const first = await issueDeviceCredentials(ca, MAC, { now: NOW });
    const second = await issueDeviceCredentials(ca, MAC, { now: NOW });
    expect(second.privateKeyPem).not.toBe(first.privateKeyPem);
    expect(parsed(second).node.publicKey.equals(parsed(first).node.publicKey)).toBe(false);
  });

  it('is valid from five minutes before now (whole seconds) for the requested days', async () => {
    const issued = await issueDeviceCredentials(ca, MAC, { now: NOW, days: 30 });
    expect(issued.notBefore.toISOString()).toBe('2030-06-01T11:55:00.000Z');
    expect(issued.notAfter.toISOString()).toBe('2030-07-01T12:00:00.000Z');
    const { node } = parsed(issued);
    expect(new Date(node.validFrom)).toEqual(issued.notBefore);
    expect(new Date(node.validTo)).toEqual(issued.notAfter);
  });

  it('lasts ten years by default', async () => {
    const issued = await issueDeviceCredentials(ca, MAC, { now: NOW });
    expect(issued.notAfter.toISOString()).toBe(new Date(Math.floor((NOW.getTime() + 3650 * DAY) / 1000) * 1000).toISOString());
  });

  it('carries basicConstraints CA=false, digitalSignature, clientAuth and both key identifiers', async () => {
    const issued = await issueDeviceCredentials(ca, MAC, { now: NOW });
    const { peculiar } = parsed(issued);
    const constraints = peculiar.getExtension(x509.BasicConstraintsExtension)!;
    expect(constraints.ca).toBe(false);
    expect(constraints.critical).toBe(true);
    const usage = peculiar.getExtension(x509.KeyUsagesExtension)!;
    expect(usage.usages).toBe(x509.KeyUsageFlags.digitalSignature);
    expect(usage.critical).toBe(true);
    expect(peculiar.getExtension(x509.ExtendedKeyUsageExtension)!.usages).toEqual([x509.ExtendedKeyUsage.clientAuth]);
    const ski = peculiar.getExtension(x509.SubjectKeyIdentifierExtension)!.keyId;
    expect(ski).toBe(Buffer.from(await peculiar.publicKey.getKeyIdentifier()).toString('hex'));
    const caSki = new x509.X509Certificate(testCa.certPem).getExtension(x509.SubjectKeyIdentifierExtension)!.keyId;
    expect(peculiar.getExtension(x509.AuthorityKeyIdentifierExtension)!.keyId).toBe(caSki);
  });

  it('issues RSA-2048 keys on request, with keyEncipherment', async () => {
    const issued = await issueDeviceCredentials(ca, MAC, { now: NOW, keyType: 'rsa-2048' });
    const key = createPrivateKey(issued.privateKeyPem);
    expect(key.asymmetricKeyType).toBe('rsa');
    expect(key.asymmetricKeyDetails?.modulusLength).toBe(2048);
    const { node, peculiar } = parsed(issued);
    expect(createPublicKey(key).equals(node.publicKey)).toBe(true);
    expect(node.verify(new X509Certificate(testCa.certPem).publicKey)).toBe(true);
    expect(peculiar.getExtension(x509.KeyUsagesExtension)!.usages).toBe(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment);
  });

  it('fills {mac} into a subject template', async () => {
    const issued = await issueDeviceCredentials(ca, MAC, { now: NOW, subjectTemplate: 'CN={mac}, OU=line 3, O=Acme Devices, C=DE' });
    expect(issued.subject).toBe(`CN=${MAC}, OU=line 3, O=Acme Devices, C=DE`);
    expect(parsed(issued).node.subject).toBe(`CN=${MAC}\nOU=line 3\nO=Acme Devices\nC=DE`);
    const prefixed = await issueDeviceCredentials(ca, MAC, { now: NOW, subjectTemplate: 'CN=acme-{mac}' });
    expect(prefixed.subject).toBe(`CN=acme-${MAC}`);
  });

  it.each([
    ['CN=device', /lacks \{mac\}/],
    ['CN={mac}, serialNumber={serial}', /unknown placeholder \{serial\}/],
    ['garbage {mac}', /not a distinguished name/],
    ['XX={mac}', /not a distinguished name/],
  ])('refuses the subject template %j', async (template, message) => {
    await expect(issueDeviceCredentials(ca, MAC, { now: NOW, subjectTemplate: template })).rejects.toMatchObject({ code: 'BAD_INPUT', message });
    expect(() => checkIssueOptions(ca, { subjectTemplate: template, now: NOW })).toThrow(message);
  });

  it.each(['A0B1C2D3E4F5', 'a0:b1:c2:d3:e4:f5', 'a0b1c2d3e4', 'a0b1c2d3e4f5a', 'g0b1c2d3e4f5', ''])('refuses the MAC %j', async (mac) => {
    await expect(issueDeviceCredentials(ca, mac, { now: NOW })).rejects.toMatchObject({ code: 'BAD_INPUT', message: expect.stringMatching(/12 lowercase hex digits/) });
  });

  it.each([0, -1, 1.5, 36_501, Number.NaN])('refuses --days %s', async (days) => {
    await expect(issueDeviceCredentials(ca, MAC, { now: NOW, days })).rejects.toMatchObject({ code: 'BAD_INPUT', message: expect.stringMatching(/^--days must be a whole number/) });
  });

  it('refuses an unknown key type', () => {
    expect(() => checkIssueOptions(ca, { keyType: 'ed25519' as never, now: NOW })).toThrow(/unknown key type 'ed25519'/);
  });

  it('refuses a validity that would outlive the CA, and shortens the default to the CA expiry', async () => {
    const shortCa = await loadFactoryCa(await makeTestCa({ notBefore: new Date('2020-01-01T00:00:00Z'), notAfter: new Date('2031-01-01T00:00:00Z') }), NOW);
    await expect(issueDeviceCredentials(shortCa, MAC, { now: NOW, days: 365 })).rejects.toThrow(
      '--days 365 would outlive the CA certificate, which expires on 2031-01-01T00:00:00Z; use --days 213 or fewer',
    );
    const fitting = await issueDeviceCredentials(shortCa, MAC, { now: NOW, days: 213 });
    expect(fitting.notAfter.getTime()).toBeLessThanOrEqual(shortCa.notAfter.getTime());
    const byDefault = await issueDeviceCredentials(shortCa, MAC, { now: NOW });
    expect(byDefault.notAfter.toISOString()).toBe('2031-01-01T00:00:00.000Z');
  });

  it('never backdates before the CA itself is valid', async () => {
    const youngCa = await loadFactoryCa(await makeTestCa({ notBefore: new Date('2030-06-01T11:59:00Z') }), NOW);
    const issued = await issueDeviceCredentials(youngCa, MAC, { now: NOW });
    expect(issued.notBefore.toISOString()).toBe('2030-06-01T11:59:00.000Z');
  });

  it('fits the smallest credential partition (4 KiB, ESP8266) and an AT+SYSMFG value, for EC and RSA', async () => {
    const subjectTemplate = 'CN={mac}, OU=Production line 12, O=Acme Connected Devices GmbH, L=Stuttgart, C=DE';
    for (const keyType of ['ec-p256', 'rsa-2048'] as const) {
      const issued = await issueDeviceCredentials(ca, MAC, { now: NOW, keyType, subjectTemplate });
      const items = [
        { type: 'key' as const, text: issued.privateKeyPem },
        { type: 'cert' as const, text: issued.certificatePem },
        { type: 'ca' as const, text: issued.caChainPem },
      ];
      for (const { type, text } of items) {
        const content = Buffer.from(text);
        expect(content.length).toBeLessThanOrEqual(MFG_MAX_VALUE_LENGTH);
        expect(encodePkiBin([{ type, content }]).length, `${keyType} ${type}`).toBeLessThanOrEqual(4096);
      }
    }
  });

  it('signs with RSA and P-384 CAs, and names an intermediate CA with its chain', async () => {
    for (const keyType of ['rsa-2048', 'ec-p384'] as const) {
      const other = await makeTestCa({ keyType });
      const issued = await issueDeviceCredentials(await loadFactoryCa(other), MAC, { now: NOW });
      expect(parsed(issued).node.verify(new X509Certificate(other.certPem).publicKey)).toBe(true);
    }
    const root = await makeTestCa({ subject: 'CN=at-pki Test Root, O=at-pki tests' });
    const intermediate = await makeTestCa({ subject: 'CN=at-pki Test Line CA, O=at-pki tests', parent: root });
    const lineCa = await loadFactoryCa({ certPem: intermediate.certPem + root.certPem, keyPem: intermediate.keyPem });
    const issued = await issueDeviceCredentials(lineCa, MAC, { now: NOW });
    expect(parsed(issued).node.checkIssued(new X509Certificate(intermediate.certPem))).toBe(true);
    expect(issued.caChainPem).toBe(intermediate.certPem + root.certPem);
  });

  it('derives the authority key identifier from the CA key when the CA certificate names none', async () => {
    const plain = await makeTestCa({ noSubjectKeyIdentifier: true });
    const issued = await issueDeviceCredentials(await loadFactoryCa(plain), MAC, { now: NOW });
    const caKeyId = Buffer.from(await new x509.X509Certificate(plain.certPem).publicKey.getKeyIdentifier()).toString('hex');
    expect(parsed(issued).peculiar.getExtension(x509.AuthorityKeyIdentifierExtension)!.keyId).toBe(caKeyId);
  });
});

describe('loadFactoryCa', () => {
  it('decrypts encrypted PKCS#8 and traditional PEM keys with the passphrase, into a key that cannot be exported', async () => {
    for (const [keyType, format] of [
      ['ec-p256', 'pkcs8'],
      ['ec-p256', 'traditional'],
      ['rsa-2048', 'traditional'],
    ] as const) {
      const encrypted = await makeTestCa({ keyType, encrypt: { format, passphrase: 'correct horse' } });
      expect(encrypted.keyPem).toMatch(format === 'pkcs8' ? /BEGIN ENCRYPTED PRIVATE KEY/ : /Proc-Type: 4,ENCRYPTED/);
      const loaded = await loadFactoryCa({ certPem: encrypted.certPem, keyPem: encrypted.keyPem, passphrase: 'correct horse' });
      expect(loaded.signingKey.extractable).toBe(false);
      expect(loaded.subject).toBe('CN=at-pki Test Factory CA, O=at-pki tests');
      const issued = await issueDeviceCredentials(loaded, MAC);
      expect(parsed(issued).node.verify(new X509Certificate(encrypted.certPem).publicKey)).toBe(true);
    }
  });

  it('says so when the passphrase is wrong or missing', async () => {
    for (const format of ['pkcs8', 'traditional'] as const) {
      const encrypted = await makeTestCa({ encrypt: { format, passphrase: 'correct horse' } });
      await expect(loadFactoryCa({ ...encrypted, passphrase: 'battery staple' })).rejects.toMatchObject({
        code: 'BAD_INPUT',
        message: 'wrong passphrase for the CA key (it does not decrypt)',
      });
      await expect(loadFactoryCa({ certPem: encrypted.certPem, keyPem: encrypted.keyPem })).rejects.toThrow('the CA key is encrypted and no passphrase was given');
    }
  });

  it('refuses a key that is not the certificate key', async () => {
    const other = await makeTestCa();
    await expect(loadFactoryCa({ certPem: testCa.certPem, keyPem: other.keyPem })).rejects.toMatchObject({
      code: 'BAD_INPUT',
      message: 'the CA key does not match the CA certificate (CN=at-pki Test Factory CA, O=at-pki tests): their public keys differ',
    });
  });

  it('refuses a certificate that is not a CA', async () => {
    const leaf = await makeTestCa({ ca: false, keyUsage: x509.KeyUsageFlags.digitalSignature });
    await expect(loadFactoryCa(leaf)).rejects.toThrow('the CA certificate (CN=at-pki Test Factory CA, O=at-pki tests) is not a CA: it lacks basicConstraints CA:TRUE');
    const noSign = await makeTestCa({ keyUsage: x509.KeyUsageFlags.cRLSign });
    await expect(loadFactoryCa(noSign)).rejects.toThrow('is not a CA: its keyUsage lacks keyCertSign');
    const unconstrained = await makeTestCa({ keyUsage: null });
    await expect(loadFactoryCa(unconstrained)).resolves.toMatchObject({ subject: 'CN=at-pki Test Factory CA, O=at-pki tests' });
  });

  it('refuses a CA outside its validity period', async () => {
    const expired = await makeTestCa({ notBefore: new Date('2000-01-01T00:00:00Z'), notAfter: new Date('2001-01-01T00:00:00Z') });
    await expect(loadFactoryCa(expired)).rejects.toThrow('the CA certificate (CN=at-pki Test Factory CA, O=at-pki tests) expired on 2001-01-01T00:00:00Z');
    const future = await makeTestCa({ notBefore: new Date('2200-01-01T00:00:00Z'), notAfter: new Date('2201-01-01T00:00:00Z') });
    await expect(loadFactoryCa(future)).rejects.toThrow('is not valid before 2200-01-01T00:00:00Z');
    // A CA that expires after it was loaded is caught at issue time.
    const ending = await loadFactoryCa(await makeTestCa({ notAfter: new Date('2031-01-01T00:00:00Z') }), NOW);
    await expect(issueDeviceCredentials(ending, MAC, { now: new Date('2032-01-01T00:00:00Z') })).rejects.toThrow('expired on 2031-01-01T00:00:00Z');
  });

  it('refuses files that hold no certificate or no key', async () => {
    await expect(loadFactoryCa({ certPem: testCa.keyPem, keyPem: testCa.keyPem })).rejects.toThrow('the CA certificate file holds no PEM certificate');
    await expect(loadFactoryCa({ certPem: testCa.certPem, keyPem: testCa.certPem })).rejects.toThrow('the CA key file holds no PEM private key');
    const broken = testCa.certPem.replace(/\n([A-Za-z0-9+/]{10})/, '\n!!!!!!!!!!');
    await expect(loadFactoryCa({ certPem: broken, keyPem: testCa.keyPem })).rejects.toThrow(/^the CA certificate does not parse/);
  });

  it('keeps the CA key out of everything it exposes', async () => {
    const secret = Buffer.from(testCa.key.export({ format: 'jwk' }).d!, 'base64url');
    const { privateKeyPem: _deviceKey, ...issued } = await issueDeviceCredentials(ca, MAC);
    const shown = JSON.stringify(ca) + JSON.stringify(issued);
    for (const encoded of [secret.toString('base64'), secret.toString('base64url'), secret.toString('hex')]) {
      for (let i = 0; i + 12 <= encoded.length; i += 4) expect(shown).not.toContain(encoded.slice(i, i + 12));
    }
  });
});
