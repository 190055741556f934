import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fixturesDir } from '../pki/paths.js';
import { secureCertVectors, upstreamImages } from '../pki/secure-cert-vectors.js';
import { endRecord, ensureBuilt, expectOneLineError, runCli } from './harness.js';

const vectors = secureCertVectors();
const tlv = vectors.find((vector) => vector.name === 'tlv_ec_p256_plain')!;
const appended = vectors.find((vector) => vector.kind === 'append-integrity')!;
const upstream = upstreamImages();
const fx = (name: string): string => join(fixturesDir, name);
let work: string;
let cwd: string;
let counter = 0;

beforeAll(async () => {
  ensureBuilt();
  work = await mkdtemp(join(tmpdir(), 'at-pki-secure-cert-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});
beforeEach(async () => {
  cwd = join(work, `t${counter++}`);
  await mkdir(cwd);
});

/** The --ca-cert/--device-cert/--private-key arguments of a vector. */
function credentialArgs(vector: (typeof vectors)[number]): string[] {
  return [
    ...(vector.caCert ? ['--ca-cert', vector.caCert] : []),
    ...(vector.deviceCert ? ['--device-cert', vector.deviceCert] : []),
    ...(vector.privateKey ? ['--private-key', vector.privateKey] : []),
  ];
}

describe.each(vectors.filter((vector) => vector.kind === 'tlv' || vector.kind === 'cust-flash'))('generate, vector $name', (vector) => {
  it('writes the reference output byte for byte', async () => {
    const format = vector.kind === 'tlv' ? 'esp-secure-cert' : 'cust-flash';
    const run = runCli(['generate', '--format', format, ...credentialArgs(vector), '-o', 'out.bin'], { cwd });
    expect(run.code, run.stderr).toBe(0);
    expect((await readFile(join(cwd, 'out.bin'))).equals(vector.output)).toBe(true);
  });
});

describe('generate --format esp-secure-cert', () => {
  it('writes esp_secure_cert.bin by default, owner-only, and lists the entries', async () => {
    const run = runCli(['generate', '--format', 'esp-secure-cert', ...credentialArgs(tlv)], { cwd });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^wrote esp_secure_cert\.bin: 1600 bytes, esp_secure_cert partition \(TLV format\)\n/);
    expect(run.stdout).toMatch(/^PRIV_KEY\/0 +0x0510 +228 +SEC1 PEM private key \(from PKCS#8\) +\S*priv_key\.pem$/m);
    expect(run.stdout).toMatch(/^INTEGRITY\/0 +0x0610 +32 +SHA-256 of the 1552 bytes before it$/m);
    const written = join(cwd, 'esp_secure_cert.bin');
    expect((await readFile(written)).equals(tlv.output)).toBe(true);
    expect((await stat(written)).mode & 0o777).toBe(0o600);
  });

  it('prints a JSON end record with --json', () => {
    const run = runCli(['generate', '--json', '--format', 'esp-secure-cert', ...credentialArgs(tlv), '-o', 'x.bin'], { cwd });
    expect(run.code, run.stderr).toBe(0);
    expect(endRecord(run)).toMatchObject({
      ok: true,
      result: { output: 'x.bin', format: 'esp-secure-cert', size: 1600, items: [{ name: 'CA_CERT/0', offset: 0, length: 701 }, { name: 'DEV_CERT/0' }, { name: 'PRIV_KEY/0' }, { name: 'INTEGRITY/0', offset: 0x610 }], validation: { errors: [] } },
    });
  });

  it('validates like the PKI bin: a key that is not the certificate’s exits 2, --no-validate writes anyway', async () => {
    const args = ['generate', '--format', 'esp-secure-cert', '--device-cert', fx('device.crt'), '--private-key', fx('other.key')];
    expectOneLineError(runCli(args, { cwd }), 2, /validation failed: key #0 \(PRIV_KEY\/0 at 0x02b0\): does not belong to cert #0/);
    await expect(stat(join(cwd, 'esp_secure_cert.bin'))).rejects.toThrow();
    expect(runCli([...args, '--no-validate'], { cwd }).code).toBe(0);
  });

  it('warns about certificates of a bundle it leaves out', async () => {
    await writeFile(join(cwd, 'chain.pem'), Buffer.concat([await readFile(fx('device.crt')), await readFile(fx('ca.crt'))]));
    const run = runCli(['generate', '--format', 'esp-secure-cert', '--device-cert', 'chain.pem'], { cwd });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/^at-pki: warning: chain\.pem holds 2 certificates; only the first .* is stored/m);
  });

  it('refuses an encrypted key with one line, exit 2, and writes nothing', async () => {
    const run = runCli(['generate', '--format', 'esp-secure-cert', '--device-cert', fx('device.crt'), '--private-key', fx('device-encrypted.key')], { cwd });
    expectOneLineError(run, 2, /device-encrypted\.key: the private key is encrypted; .*at-pki does not decrypt keys/);
    await expect(stat(join(cwd, 'esp_secure_cert.bin'))).rejects.toThrow();
  });

  it('refuses --configure-ds: the DS peripheral needs eFuse provisioning', () => {
    const run = runCli(['generate', '--format', 'esp-secure-cert', '--configure-ds', '--private-key', fx('rsa.key')], { cwd });
    expectOneLineError(run, 2, /ds-peripheral keys cannot be provisioned by at-pki: .*eFuse.*not an ESP-AT firmware over AT commands/);
  });

  it.each<[string, string[], RegExp]>([
    ['credential options with the PKI bin format', ['generate', '--ca-cert', 'ca.pem', 'cert', 'x.crt'], /--ca-cert is for --format esp-secure-cert/],
    ['<type> <file> pairs with esp-secure-cert', ['generate', '--format', 'esp-secure-cert', 'cert', 'x.crt'], /takes --ca-cert, --device-cert and --private-key, not <type> <file> pairs/],
    ['no credential at all', ['generate', '--format', 'esp-secure-cert'], /needs --ca-cert, --device-cert and\/or --private-key/],
    ['--from with esp-secure-cert', ['generate', '--format', 'esp-secure-cert', '--from', 'raw_data'], /--from is for --format atpki/],
    ['an unknown format', ['generate', '--format', 'nvm'], /argument 'nvm' is invalid/],
  ])('exits 2 on %s', (_name, args, message) => {
    expectOneLineError(runCli(args, { cwd }), 2, message);
  });

  it('writes the legacy cust_flash layout with --format cust-flash', async () => {
    const run = runCli(['generate', '--format', 'cust-flash', '--device-cert', fx('device.crt'), '--private-key', fx('device.key')], { cwd });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^wrote esp_secure_cert\.bin: 24576 bytes, esp_secure_cert partition \(legacy cust_flash layout\)/);
  });
});

describe('generate --append-integrity', () => {
  it('writes what the reference tool writes, to -o', async () => {
    const run = runCli(['generate', '--format', 'esp-secure-cert', '--append-integrity', appended.inputImage!, '-o', 'out.bin'], { cwd });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe('wrote out.bin: 1652 bytes, INTEGRITY/1 at 0x0640 over the 1600 bytes before it, then the end marker ff ff 00 00\n');
    expect((await readFile(join(cwd, 'out.bin'))).equals(appended.output)).toBe(true);
  });

  it('works in place by default, and refuses to run twice over the result', async () => {
    await writeFile(join(cwd, 'image.bin'), await readFile(appended.inputImage!));
    expect(runCli(['generate', '--format', 'esp-secure-cert', '--append-integrity', 'image.bin'], { cwd }).code).toBe(0);
    expect((await readFile(join(cwd, 'image.bin'))).equals(appended.output)).toBe(true);
    expectOneLineError(runCli(['generate', '--format', 'esp-secure-cert', '--append-integrity', 'image.bin'], { cwd }), 2, /goes on for 4 bytes after its last entry/);
  });

  it('refuses a PKI bin, and credentials given with it', () => {
    expectOneLineError(runCli(['generate', '--format', 'esp-secure-cert', '--append-integrity', fx('device.crt')], { cwd }), 2, /not an esp_secure_cert TLV image \(unknown format\)/);
    expectOneLineError(runCli(['generate', '--format', 'esp-secure-cert', '--append-integrity', appended.inputImage!, '--device-cert', fx('device.crt')], { cwd }), 2, /drop --device-cert/);
  });
});

describe('inspect an esp_secure_cert image', () => {
  it('shows every entry, the certificates, the key type and the integrity status', () => {
    const run = runCli(['inspect', tlv.outputPath]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/esp_secure_cert\.bin: esp_secure_cert partition \(TLV format\), 4 entries, 1600 bytes\n/);
    expect(run.stdout).toMatch(/^OFFSET\s+TYPE\s+SUB\s+FLAGS\s+LENGTH\s+PAD\s+CRC\s+CONTENT$/m);
    expect(run.stdout).toMatch(/^0x02d0\s+DEV_CERT\s+0\s+0x00\s+555\s+5\s+ok\s+PEM certificate: CN=throwaway-ec-device/m);
    expect(run.stdout).toMatch(/^0x0510\s+PRIV_KEY\s+0\s+0x00\s+228\s+12\s+ok\s+plaintext SEC1 PEM private key: EC prime256v1$/m);
    expect(run.stdout).toMatch(/^0x0610\s+INTEGRITY\s+0\s+0x00\s+32\s+0\s+ok\s+SHA-256 of the 1552 bytes before it: ok$/m);
    expect(run.stdout).toContain('  fingerprint  SHA-256 ');
    expect(run.stdout).toMatch(/Firmware view \(esp_secure_cert_mgr reader API\):\n {2}device cert {2}DEV_CERT\/0 at 0x02d0\n {2}CA cert {6}CA_CERT\/0 at 0x0000\n {2}private key {2}DEFAULT \(plaintext\), PRIV_KEY\/0 at 0x0510\n {2}integrity {4}ok \(INTEGRITY\/0 at 0x0610\)\n/);
    expect(run.stdout).toMatch(/No problems found\.\n$/);
  });

  it('never shows key material', async () => {
    const keyPem = (await readFile(tlv.privateKey!, 'latin1')).split('\n')[1]!;
    for (const args of [['inspect', tlv.outputPath], ['inspect', '--json', tlv.outputPath]]) {
      const run = runCli(args);
      expect(run.stdout).not.toContain('PRIVATE KEY');
      expect(run.stdout).not.toContain(keyPem.slice(0, 16));
      expect(run.stdout).not.toContain('"type":"Buffer"');
    }
  });

  it('prints the report as JSON with --json', () => {
    const run = runCli(['inspect', '--json', tlv.outputPath]);
    expect(run.code, run.stderr).toBe(0);
    const { result } = endRecord(run);
    expect(result).toMatchObject({ format: 'esp-secure-cert', valid: true, fileSize: 1600, problems: [], reader: { integrity: 'ok', privateKey: { type: 'DEFAULT' } }, tlv: { termination: 'eof', end: 1600, listedEntries: 4 } });
    expect(result.tlv.entries.map((entry: { typeName: string; crc: string; crcOk: boolean }) => [entry.typeName, entry.crcOk])).toEqual([
      ['CA_CERT', true],
      ['DEV_CERT', true],
      ['PRIV_KEY', true],
      ['INTEGRITY', true],
    ]);
    expect(result.tlv.entries[2].content).toMatchObject({ kind: 'private-key', keyType: 'DEFAULT', key: { keyFormat: 'sec1', key: { algorithm: 'ec', curve: 'prime256v1' } } });
  });

  it('shows the legacy layout and the DS context', () => {
    const legacy = runCli(['inspect', upstream.find((image) => image.name.startsWith('cust_flash_legacy'))!.path]);
    expect(legacy.code, legacy.stderr).toBe(0);
    expect(legacy.stdout).toMatch(/legacy cust_flash layout\), plaintext key, pre_prov metadata order, 24576 bytes/);
    expect(legacy.stdout).toMatch(/^priv_key\s+0x1840\s+1680\s+4096\s+ok\s+plaintext PKCS#1 PEM private key: RSA 2048$/m);
    const ds = runCli(['inspect', upstream.find((image) => image.name === 'tests__esp_secure_cert.bin')!.path]);
    expect(ds.code, ds.stderr).toBe(0);
    expect(ds.stdout).toMatch(/^ {2}DS context {3}eFuse key id 0, RSA 2048, 1200-byte ciphertext, IV [0-9a-f]{32} /m);
    expect(ds.stdout).toContain('  private key  none (INVALID)');
  });

  it.each(upstream.filter((image) => image.corrupt).map((image) => image.name))('exits 2 on the damaged %s, after the report', (name) => {
    const image = upstream.find((candidate) => candidate.name === name)!;
    const run = runCli(['inspect', image.path]);
    expect(run.stdout).toMatch(/\nErrors \(\d+\):\n/);
    expectOneLineError(run, 2, /: damaged esp_secure_cert image: /);
  });

  it('puts the report in the JSON error details of a damaged image', () => {
    const run = runCli(['inspect', '--json', upstream.find((image) => image.name.startsWith('secure_verification_corrupt'))!.path]);
    expect(run.code).toBe(2);
    expect(run.stdout.trim().split('\n')).toHaveLength(1);
    expect(endRecord(run)).toMatchObject({ ok: false, error: { code: 'BAD_INPUT', details: { report: { valid: false, problems: expect.arrayContaining([expect.objectContaining({ code: 'CRC_MISMATCH', offset: 0 })]) } } } });
  });

  it('exits 2 on a flipped byte in an otherwise good image', async () => {
    const bytes = Buffer.from(tlv.output);
    bytes[0x300]! ^= 0x01;
    await writeFile(join(cwd, 'bad.bin'), bytes);
    const run = runCli(['inspect', 'bad.bin'], { cwd });
    expect(run.stdout).toMatch(/^0x02d0\s+DEV_CERT\s+0\s+0x00\s+555\s+5\s+BAD\s/m);
    expect(run.stdout).toContain('  integrity    mismatch (INTEGRITY/0 at 0x0610)');
    expectOneLineError(run, 2, /bad\.bin: damaged esp_secure_cert image: DEV_CERT\/0 at 0x02d0: CRC mismatch/);
  });

  it('still says a PKI bin command does not take it', () => {
    expectOneLineError(runCli(['extract', tlv.outputPath, '-o', join(cwd, 'out')]), 2, /not an ESP-AT PKI bin but an esp_secure_cert partition \(TLV format\); 'at-pki inspect' shows what it holds/);
  });
});
