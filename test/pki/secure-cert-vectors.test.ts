/**
 * The esp_secure_cert reference vectors: what at-pki writes is the reference tool's output byte for
 * byte, every output decodes clean and re-encodes to itself, and the upstream images inspect
 * without crashing, the damaged ones reported as damaged.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectFormat } from '../../src/pki/detect-format.js';
import { appendIntegrity } from '../../src/pki/secure-cert/append-integrity.js';
import { buildCustFlash, buildSecureCertTlv, type SecureCertCredentials } from '../../src/pki/secure-cert/build.js';
import { encodeCustFlash } from '../../src/pki/secure-cert/cust-flash.js';
import { inspectSecureCert } from '../../src/pki/secure-cert/inspect.js';
import { storedCredentials, validateStoredCredentials } from '../../src/pki/secure-cert/stored-credentials.js';
import { TLV_END_MARKER, encodeTlvImage } from '../../src/pki/secure-cert/tlv-image.js';
import { secureCertVectors, upstreamImages, type SecureCertVector } from './secure-cert-vectors.js';

const vectors = secureCertVectors();

function credentialsOf(vector: SecureCertVector): SecureCertCredentials {
  const file = (path: string | undefined) => (path === undefined ? undefined : { content: readFileSync(path), source: basename(path) });
  const credentials: SecureCertCredentials = {};
  const caCert = file(vector.caCert);
  const deviceCert = file(vector.deviceCert);
  const privateKey = file(vector.privateKey);
  if (caCert) credentials.caCert = caCert;
  if (deviceCert) credentials.deviceCert = deviceCert;
  if (privateKey) credentials.privateKey = privateKey;
  return credentials;
}

/** What at-pki makes from the vector's inputs. */
function encode(vector: SecureCertVector): Buffer {
  switch (vector.kind) {
    case 'tlv':
      return buildSecureCertTlv(credentialsOf(vector)).image;
    case 'cust-flash':
      return buildCustFlash(credentialsOf(vector)).image;
    case 'append-integrity':
      return appendIntegrity(readFileSync(vector.inputImage!)).image;
    case 'unsupported':
      throw new Error(`not written by at-pki: ${vector.reason}`);
  }
}

it('finds the vectors', () => {
  expect(vectors.map((vector) => vector.kind)).toEqual(expect.arrayContaining(['tlv', 'cust-flash', 'append-integrity']));
});

describe.each(vectors)('vector $name ($kind)', (vector) => {
  if (vector.kind === 'unsupported') {
    it.todo(`encode: at-pki does not write ${vector.reason}`);
  } else {
    it('encodes to the reference output byte for byte', () => {
      const encoded = encode(vector);
      expect(encoded.length).toBe(vector.output.length);
      expect(encoded.equals(vector.output)).toBe(true);
    });
  }

  const isNvs = vector.name.startsWith('legacy_nvs');
  it.skipIf(isNvs)('decodes with every CRC and hash good, nothing wrong', () => {
    expect(detectFormat(vector.output).format).toBe(vector.kind === 'cust-flash' ? 'esp-secure-cert-cust-flash' : 'esp-secure-cert');
    const inspection = inspectSecureCert(vector.output);
    expect(inspection.image.problems).toEqual([]);
    expect(inspection.valid).toBe(true);
    const validation = validateStoredCredentials(storedCredentials(inspection.image), { now: new Date('2030-01-01T00:00:00Z') });
    expect(validation.errors).toEqual([]);
  });

  it.skipIf(isNvs)('re-encodes from what was decoded to the same bytes', () => {
    const { image } = inspectSecureCert(vector.output);
    if (image.layout === 'tlv') {
      const entries = image.entries.map(({ entry }) => ({ type: entry.type, subtype: entry.subtype, flags: entry.flags, reserved: entry.reserved, value: entry.value }));
      const tail = image.termination === 'end-marker' ? Buffer.from(TLV_END_MARKER) : Buffer.alloc(0);
      expect(Buffer.concat([encodeTlvImage(entries, { integrity: false }), tail]).equals(vector.output)).toBe(true);
      expect(image.integrity.status).toBe('ok');
    } else {
      const value = (name: string) => image.items.find((item) => item.name === name && !item.absent)?.value;
      expect(encodeCustFlash({ deviceCert: value('dev_cert')!, privateKey: value('priv_key')!, caCert: value('ca_cert') }).equals(vector.output)).toBe(true);
    }
  });
});

describe('tlv_append_integrity', () => {
  const vector = vectors.find((candidate) => candidate.kind === 'append-integrity');

  it.runIf(vector)('adds INTEGRITY/1 over the whole input, then the end marker', () => {
    const { image } = inspectSecureCert(vector!.output);
    if (image.layout !== 'tlv') throw new Error('expected TLV');
    expect(image.termination).toBe('end-marker');
    const integrity = image.entries.filter(({ entry }) => entry.type === 9);
    expect(integrity.map(({ entry }) => [entry.subtype, entry.offset])).toEqual([
      [0, integrity[0]!.entry.offset],
      [1, readFileSync(vector!.inputImage!).length],
    ]);
    expect(image.integrity).toMatchObject({ status: 'ok', subtype: 1, uncoveredEntries: 0 });
  });
});

describe.each(upstreamImages())('upstream image $name', (upstream) => {
  it('inspects without throwing, as damaged exactly when it is', () => {
    const inspection = inspectSecureCert(upstream.bytes);
    const errors = inspection.image.problems.filter((problem) => problem.severity === 'error');
    expect(inspection.valid).toBe(!upstream.corrupt);
    expect(errors.length > 0).toBe(upstream.corrupt);
    for (const problem of inspection.image.problems) expect(problem.message).toMatch(/^\S/);
  });
});

describe('damaged upstream images say what is wrong', () => {
  const byName = (part: string) => upstreamImages().find((image) => image.name.includes(part))!;

  it('secure_verification_corrupt: the CA certificate CRC, and the signature blocks', () => {
    const { image, reader } = inspectSecureCert(byName('secure_verification_corrupt').bytes);
    expect(image.problems).toContainEqual(expect.objectContaining({ severity: 'error', code: 'CRC_MISMATCH', offset: 0, message: expect.stringMatching(/^CA_CERT\/0 at 0x0000: CRC mismatch .*listing stops here and does not show the 8 entries after it/) }));
    expect(image.problems.filter((problem) => problem.code === 'BAD_SIGNATURE_BLOCK').length).toBeGreaterThanOrEqual(3);
    expect(reader.caCert).toMatchObject({ crcOk: false });
    if (image.layout === 'tlv') expect(image.listedEntries).toBe(0);
  });

  it('tests__esp_secure_cert_after_corrupt: cut off inside the first entry', () => {
    const { image } = inspectSecureCert(byName('after_corrupt').bytes);
    expect(image.problems).toEqual([expect.objectContaining({ severity: 'error', code: 'TRUNCATED', offset: 0, message: expect.stringContaining('PRIV_KEY/0 (1680-byte value) at 0x0000 needs 1696 bytes') })]);
  });
});

describe('intact upstream images', () => {
  const byName = (part: string) => inspectSecureCert(upstreamImages().find((image) => image.name.startsWith(part))!.bytes);

  it('cust_flash_tlv: the v2.0.x header (0xFF flags and reserved bytes) reads as no flags', () => {
    const { image, reader } = byName('cust_flash_tlv');
    expect(image.problems).toEqual([expect.objectContaining({ severity: 'warning', code: 'LEGACY_HEADER' })]);
    expect(reader.privateKey).toMatchObject({ type: 'DEFAULT', crcOk: true });
    expect(reader.deviceCert?.where).toBe('DEV_CERT/0 at 0x0000');
  });

  it('tests__esp_secure_cert: RSA DS key, eFuse key id and key size from DS_DATA + DS_CONTEXT', () => {
    const { reader } = byName('tests__esp_secure_cert.bin');
    expect(reader.privateKey).toBeUndefined();
    expect(reader.dsContext).toMatchObject({ efuseKeyId: 0, rsaLengthBits: 2048, ciphertextLength: 1200 });
  });

  it('secure_verification: three RSA3072 signature blocks that verify', () => {
    const { image } = byName('secure_verification__');
    if (image.layout !== 'tlv') throw new Error('expected TLV');
    const signatures = image.entries.flatMap(({ info }) => (info.kind === 'signature-block' ? [info.signature] : []));
    expect(signatures).toHaveLength(3);
    for (const signature of signatures) expect(signature).toMatchObject({ algorithm: 'RSA3072', offset: 0, signedLength: 0xfb0, check: 'verified' });
  });

  it('cust_flash: the fixed-offset layout; cust_flash_legacy: the same with the pre_prov metadata order', () => {
    const current = byName('cust_flash__');
    const legacy = byName('cust_flash_legacy__');
    if (current.image.layout !== 'cust_flash' || legacy.image.layout !== 'cust_flash') throw new Error('expected cust_flash');
    expect(current.image.metadataOrder).toBe('esp_secure_cert');
    expect(legacy.image.metadataOrder).toBe('pre_prov');
    const lengths = (decoded: typeof current.image) => (decoded.layout === 'cust_flash' ? decoded.items.map((item) => [item.name, item.length]) : []);
    expect(lengths(legacy.image)).toEqual(lengths(current.image));
  });
});
