/** A throw-away self-signed factory CA for the benchmarks (EC P-256), as PEM. */
import { createPublicKey, generateKeyPairSync, webcrypto } from 'node:crypto';
import { x509 } from '../src/station/issuance/x509.js';

export async function selfSignedCa(): Promise<{ certPem: string; keyPem: string }> {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const algorithm = { name: 'ECDSA', hash: 'SHA-256' };
  const signingKey = await webcrypto.subtle.importKey('pkcs8', privateKey.export({ type: 'pkcs8', format: 'der' }), { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
  const publicKey = new x509.PublicKey(createPublicKey(privateKey).export({ type: 'spki', format: 'der' }));
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: '01',
    subject: 'CN=at-pki bench CA',
    issuer: 'CN=at-pki bench CA',
    notBefore: new Date('2020-01-01T00:00:00Z'),
    notAfter: new Date('2119-12-31T23:59:59Z'),
    publicKey,
    signingKey,
    signingAlgorithm: algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(publicKey),
    ],
  });
  return { certPem: `${certificate.toString('pem')}\n`, keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
}
