/**
 * Certificate and key files turned into the values configure_esp_secure_cert.py 2.6.1 stores, so
 * the images come out byte for byte the same:
 *
 * - certificates are parsed and written again: PEM in → the first certificate as canonical PEM
 *   (64 columns, LF) + one NUL byte; DER in → DER;
 * - keys are re-encoded "TraditionalOpenSSL", unencrypted: RSA → PKCS#1, EC → SEC1 (with the curve
 *   and the public key); PEM + NUL, or DER.
 *
 * Encrypted keys are refused: the partition holds the key as the firmware reads it, and at-pki never
 * decrypts a key for you.
 */
import { InputError } from '../../errors.js';
import { parseCredential, type Encoding, type ParsedCredential, type PrivateKeyFormat } from '../credential.js';

export interface EncodedValue {
  value: Buffer;
  encoding: Encoding;
  /** Things the user should know: content of the file that is left out. */
  notes: string[];
}

export interface EncodedKeyValue extends EncodedValue {
  /** The file's key format and the stored one. */
  from: PrivateKeyFormat;
  to: 'pkcs1' | 'sec1';
}

const NUL = Buffer.of(0);

/** The stored value for a certificate file. `label` names the file in messages. InputError if it holds no certificate. */
export function encodeCertificateValue(content: Uint8Array, label: string): EncodedValue {
  const parsed = parseCredential(content);
  if (parsed.kind !== 'certificate') throw wrongContent(label, 'a certificate', parsed);
  const [first, ...rest] = parsed.certificates;
  const notes: string[] = [];
  if (rest.length > 0) {
    notes.push(`${label} holds ${parsed.certificates.length} certificates; only the first (${first!.subject.split('\n').join(', ')}) is stored, as configure_esp_secure_cert.py does`);
  }
  if (parsed.alsoContains.length > 0) notes.push(`${label} also contains ${parsed.alsoContains.join(', ')}, which is left out`);
  const value = parsed.encoding === 'pem' ? Buffer.concat([Buffer.from(first!.toString(), 'latin1'), NUL]) : Buffer.from(first!.raw);
  return { value, encoding: parsed.encoding, notes };
}

/** The stored value for a private key file. InputError if it holds no usable key, an encrypted one, or neither RSA nor EC. */
export function encodePrivateKeyValue(content: Uint8Array, label: string): EncodedKeyValue {
  const parsed = parseCredential(content);
  if (parsed.kind === 'encrypted-private-key') {
    throw new InputError(
      `${label}: the private key is encrypted; the esp_secure_cert partition holds it unencrypted for the firmware (on the device, flash encryption protects it) and at-pki does not decrypt keys: decrypt it yourself first (openssl pkey -in FILE -out PLAIN.pem)`,
      { details: { file: label } },
    );
  }
  if (parsed.kind !== 'private-key') throw wrongContent(label, 'a private key', parsed);
  const algorithm = parsed.key.asymmetricKeyType;
  if (algorithm !== 'rsa' && algorithm !== 'ec') {
    throw new InputError(`${label}: an ${String(algorithm).toUpperCase()} key; esp_secure_cert stores RSA and EC keys only`, { details: { file: label, algorithm } });
  }
  const to = algorithm === 'rsa' ? 'pkcs1' : 'sec1';
  const value =
    parsed.encoding === 'pem'
      ? Buffer.concat([Buffer.from(parsed.key.export({ type: to, format: 'pem' }) as string, 'latin1'), NUL])
      : (parsed.key.export({ type: to, format: 'der' }) as Buffer);
  const notes = parsed.alsoContains.length > 0 ? [`${label} also contains ${parsed.alsoContains.join(', ')}, which is left out`] : [];
  return { value, encoding: parsed.encoding, notes, from: parsed.format, to };
}

function wrongContent(label: string, wanted: string, parsed: ParsedCredential): InputError {
  const found =
    parsed.kind === 'unusable' ? `neither (${parsed.reason})` : parsed.kind === 'certificate' ? 'a certificate' : parsed.kind === 'public-key' ? 'a public key' : 'a private key';
  return new InputError(`${label}: expected ${wanted}, found ${found}`, { details: { file: label } });
}
