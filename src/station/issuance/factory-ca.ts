/**
 * The factory CA a station issues device certificates with: its certificate (and the chain above
 * it, when the file holds one) and its private key, decrypted once into a non-extractable
 * WebCrypto key that only signs. Everything that would make every issued certificate useless is
 * refused here, before the first unit: wrong passphrase, a key that is not the certificate's, a
 * certificate that may not sign certificates, a CA outside its validity period.
 */
import { createPrivateKey, createPublicKey, webcrypto, X509Certificate, type KeyObject } from 'node:crypto';
import { InputError } from '../../errors.js';
import { cryptoMessage, isoSeconds, validityOf } from '../../pki/credential.js';
import { x509 } from './x509.js';

export interface FactoryCaInput {
  /** The CA certificate, PEM; further certificates after it are its chain up to the root. */
  certPem: string;
  /** The CA private key, PEM: PKCS#8 (plain or ENCRYPTED PRIVATE KEY), PKCS#1 or SEC1 (plain or Proc-Type encrypted). */
  keyPem: string;
  /** Decrypts an encrypted key. Comes from an environment variable or a file, never a command-line argument. */
  passphrase?: string;
}

export interface FactoryCa {
  /** The issuing CA certificate (node's view, for checks and facts). */
  readonly certificate: X509Certificate;
  /** The CA's certificate as @peculiar/x509 parsed it: its subject goes into each certificate as issuer, byte for byte. */
  readonly issuer: x509.X509Certificate;
  /** The CA certificate and the chain above it, PEM, as written to the module's client_ca. */
  readonly chainPem: string;
  /** Signs with the CA key; not extractable. */
  readonly signingKey: webcrypto.CryptoKey;
  readonly signingAlgorithm: { name: string; hash: string };
  /** The key identifier issued certificates name as their authority key identifier (hex). */
  readonly keyIdentifierHex: string;
  readonly subject: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

const CERTIFICATE_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** Load and check a factory CA. Throws InputError (exit 2) with one line saying what is wrong. */
export async function loadFactoryCa(input: FactoryCaInput, now: Date = new Date()): Promise<FactoryCa> {
  const blocks = input.certPem.match(CERTIFICATE_BLOCK) ?? [];
  if (blocks.length === 0) throw new InputError('the CA certificate file holds no PEM certificate (-----BEGIN CERTIFICATE-----)');
  let chain: X509Certificate[];
  try {
    chain = blocks.map((block) => new X509Certificate(block));
  } catch (error) {
    throw new InputError(`the CA certificate does not parse (${cryptoMessage(error)})`, { cause: error });
  }
  const certificate = chain[0]!;
  const issuer = new x509.X509Certificate(blocks[0]!);
  const subject = certificate.subject.split('\n').join(', ');

  checkCaUsage(issuer, subject);
  const { notBefore, notAfter } = validityOf(certificate);
  if (now.getTime() > notAfter.getTime()) throw new InputError(`the CA certificate (${subject}) expired on ${isoSeconds(notAfter)}`, { details: { notAfter: isoSeconds(notAfter) } });
  if (now.getTime() < notBefore.getTime()) throw new InputError(`the CA certificate (${subject}) is not valid before ${isoSeconds(notBefore)}`, { details: { notBefore: isoSeconds(notBefore) } });

  const key = decryptKey(input.keyPem, input.passphrase);
  if (!createPublicKey(key).equals(certificate.publicKey)) {
    throw new InputError(`the CA key does not match the CA certificate (${subject}): their public keys differ`);
  }
  const { signingKey, signingAlgorithm } = await importSigningKey(key);
  const keyIdentifierHex = issuer.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId ?? Buffer.from(await issuer.publicKey.getKeyIdentifier()).toString('hex');

  return {
    certificate,
    issuer,
    chainPem: chain.map((cert) => cert.toString().trim()).join('\n') + '\n',
    signingKey,
    signingAlgorithm,
    keyIdentifierHex,
    subject,
    notBefore,
    notAfter,
  };
}

/** basicConstraints CA:TRUE, and keyCertSign when the certificate limits its key usage. */
function checkCaUsage(issuer: x509.X509Certificate, subject: string): void {
  const constraints = issuer.getExtension(x509.BasicConstraintsExtension);
  if (constraints === null || !constraints.ca) {
    throw new InputError(`the CA certificate (${subject}) is not a CA: it lacks basicConstraints CA:TRUE`);
  }
  const usage = issuer.getExtension(x509.KeyUsagesExtension);
  if (usage !== null && (usage.usages & x509.KeyUsageFlags.keyCertSign) === 0) {
    throw new InputError(`the CA certificate (${subject}) is not a CA: its keyUsage lacks keyCertSign`);
  }
}

function decryptKey(keyPem: string, passphrase: string | undefined): KeyObject {
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(keyPem)) {
    throw new InputError('the CA key file holds no PEM private key (-----BEGIN ... PRIVATE KEY-----)');
  }
  const encrypted = /-----BEGIN ENCRYPTED PRIVATE KEY-----/.test(keyPem) || /^Proc-Type:\s*4,\s*ENCRYPTED/m.test(keyPem);
  if (encrypted && (passphrase === undefined || passphrase === '')) {
    throw new InputError('the CA key is encrypted and no passphrase was given');
  }
  try {
    // An empty passphrase for a plain key is ignored by OpenSSL; an unencrypted key needs none.
    return createPrivateKey(encrypted ? { key: keyPem, format: 'pem', passphrase: passphrase! } : { key: keyPem, format: 'pem' });
  } catch (error) {
    if (encrypted) throw new InputError('wrong passphrase for the CA key (it does not decrypt)');
    throw new InputError(`the CA key does not parse (${cryptoMessage(error)})`);
  }
}

const EC_HASH: Readonly<Record<string, { curve: string; hash: string }>> = {
  prime256v1: { curve: 'P-256', hash: 'SHA-256' },
  secp384r1: { curve: 'P-384', hash: 'SHA-384' },
  secp521r1: { curve: 'P-521', hash: 'SHA-512' },
};

/** The CA key as a sign-only WebCrypto key, with the signature algorithm its certificates get. */
async function importSigningKey(key: KeyObject): Promise<{ signingKey: webcrypto.CryptoKey; signingAlgorithm: { name: string; hash: string } }> {
  const pkcs8 = key.export({ type: 'pkcs8', format: 'der' });
  try {
    if (key.asymmetricKeyType === 'rsa') {
      const algorithm = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
      return { signingKey: await webcrypto.subtle.importKey('pkcs8', pkcs8, algorithm, false, ['sign']), signingAlgorithm: algorithm };
    }
    const ec = key.asymmetricKeyType === 'ec' ? EC_HASH[key.asymmetricKeyDetails?.namedCurve ?? ''] : undefined;
    if (ec !== undefined) {
      const signingKey = await webcrypto.subtle.importKey('pkcs8', pkcs8, { name: 'ECDSA', namedCurve: ec.curve }, false, ['sign']);
      return { signingKey, signingAlgorithm: { name: 'ECDSA', hash: ec.hash } };
    }
  } finally {
    pkcs8.fill(0);
  }
  const curve = key.asymmetricKeyDetails?.namedCurve;
  throw new InputError(`the CA key type ${key.asymmetricKeyType}${curve ? ` ${curve}` : ''} cannot sign here; use an RSA or EC (P-256, P-384, P-521) CA key`);
}
