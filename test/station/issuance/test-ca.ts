/**
 * Throw-away factory CAs for the issuance tests, made in-test (nothing committed): a self-signed CA
 * certificate and its key as PEM, optionally encrypted, optionally broken in one way (not a CA,
 * no keyCertSign, expired).
 */
import { createPublicKey, generateKeyPairSync, webcrypto, type KeyObject } from 'node:crypto';
import { x509 } from '../../../src/station/issuance/x509.js';

export interface TestCaOptions {
  keyType?: 'ec-p256' | 'ec-p384' | 'rsa-2048';
  subject?: string;
  /** basicConstraints CA flag. @default true */
  ca?: boolean;
  /** keyUsage flags; `null` leaves the extension out. @default keyCertSign | cRLSign */
  keyUsage?: number | null;
  /** Leave out the subjectKeyIdentifier extension. */
  noSubjectKeyIdentifier?: boolean;
  notBefore?: Date;
  notAfter?: Date;
  /** Encrypt the key: PKCS#8 (`ENCRYPTED PRIVATE KEY`) or traditional (`Proc-Type: 4,ENCRYPTED`). */
  encrypt?: { format: 'pkcs8' | 'traditional'; passphrase: string };
  /** Sign with this CA instead of self-signing (an intermediate). */
  parent?: TestCa;
}

export interface TestCa {
  certPem: string;
  keyPem: string;
  key: KeyObject;
}

function generateKey(keyType: NonNullable<TestCaOptions['keyType']>): KeyObject {
  if (keyType === 'rsa-2048') return generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  return generateKeyPairSync('ec', { namedCurve: keyType === 'ec-p256' ? 'prime256v1' : 'secp384r1' }).privateKey;
}

async function signingKeyOf(key: KeyObject): Promise<{ cryptoKey: webcrypto.CryptoKey; algorithm: { name: string; hash: string } }> {
  const der = key.export({ type: 'pkcs8', format: 'der' });
  if (key.asymmetricKeyType === 'rsa') {
    const algorithm = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
    return { cryptoKey: await webcrypto.subtle.importKey('pkcs8', der, algorithm, false, ['sign']), algorithm };
  }
  const p256 = key.asymmetricKeyDetails?.namedCurve === 'prime256v1';
  const cryptoKey = await webcrypto.subtle.importKey('pkcs8', der, { name: 'ECDSA', namedCurve: p256 ? 'P-256' : 'P-384' }, false, ['sign']);
  return { cryptoKey, algorithm: { name: 'ECDSA', hash: p256 ? 'SHA-256' : 'SHA-384' } };
}

export async function makeTestCa(options: TestCaOptions = {}): Promise<TestCa> {
  const privateKey = generateKey(options.keyType ?? 'ec-p256');
  const spki = new x509.PublicKey(createPublicKey(privateKey).export({ type: 'spki', format: 'der' }));
  const subject = options.subject ?? 'CN=at-pki Test Factory CA, O=at-pki tests';
  const signer = options.parent === undefined ? privateKey : options.parent.key;
  const { cryptoKey, algorithm } = await signingKeyOf(signer);
  const keyUsage = options.keyUsage === undefined ? x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign : options.keyUsage;
  const extensions: x509.Extension[] = [new x509.BasicConstraintsExtension(options.ca ?? true, undefined, true)];
  if (keyUsage !== null) extensions.push(new x509.KeyUsagesExtension(keyUsage, true));
  if (!options.noSubjectKeyIdentifier) extensions.push(await x509.SubjectKeyIdentifierExtension.create(spki));
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: '01',
    subject,
    issuer: options.parent === undefined ? subject : new x509.X509Certificate(options.parent.certPem).subjectName,
    notBefore: options.notBefore ?? new Date('2020-01-01T00:00:00Z'),
    notAfter: options.notAfter ?? new Date('2119-12-31T23:59:59Z'),
    publicKey: spki,
    signingKey: cryptoKey,
    signingAlgorithm: algorithm,
    extensions,
  });
  return { certPem: certificate.toString('pem') + '\n', keyPem: exportKey(privateKey, options.encrypt), key: privateKey };
}

function exportKey(key: KeyObject, encrypt: TestCaOptions['encrypt']): string {
  if (encrypt === undefined) return key.export({ type: 'pkcs8', format: 'pem' }) as string;
  if (encrypt.format === 'pkcs8') return key.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: encrypt.passphrase }) as string;
  const type = key.asymmetricKeyType === 'rsa' ? 'pkcs1' : 'sec1';
  return key.export({ type, format: 'pem', cipher: 'aes-256-cbc', passphrase: encrypt.passphrase }) as string;
}
