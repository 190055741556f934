/** `generate --format esp-secure-cert --csv`: configure_esp_secure_cert.py's CSV → image → decoded back, inspected; refusals. */
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { decodeTlvImage } from '../../src/pki/secure-cert/tlv-decode.js';
import { fixture, fixturesDir } from '../pki/paths.js';
import { endRecord, ensureBuilt, expectOneLineError, runCli } from './harness.js';

const HEADER = 'tlv_type,tlv_subtype,data_value,data_type,priv_key_type,algorithm,key_size,efuse_id,efuse_key';
const fx = (name: string): string => join(fixturesDir, name);
const pem = (name: string): Buffer => Buffer.concat([fixture(name), Buffer.of(0)]);
let work: string;
let cwd: string;
let counter = 0;

beforeAll(async () => {
  ensureBuilt();
  work = await mkdtemp(join(tmpdir(), 'at-pki-secure-cert-csv-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});
beforeEach(async () => {
  cwd = join(work, `t${counter++}`);
  await mkdir(join(cwd, 'set', 'data'), { recursive: true });
});

/** A CSV in cwd/set/ (file rows relative to it); returns its path. */
async function writeCsv(rows: readonly string[]): Promise<string> {
  const path = join(cwd, 'set', 'esp_secure_cert.csv');
  await writeFile(path, `${HEADER}\n${rows.join('\n')}\n`);
  return path;
}

const FULL = (): string[] => [
  `ESP_SECURE_CERT_CA_CERT_TLV,0,${fx('ca.crt')},file,,,,,`,
  `ESP_SECURE_CERT_CA_CERT_TLV,1,"${fixture('ca.crt').toString().replace(/\n/g, '')}",string,,,,,`,
  `ESP_SECURE_CERT_DEV_CERT_TLV,0,${fx('device.crt')},file,,,,,`,
  `ESP_SECURE_CERT_PRIV_KEY_TLV,0,${fx('device.key')},file,plaintext,ECDSA,256,,`,
  `1,1,${fx('rsa.crt')},file,,,,,`,
  `2,1,${fx('rsa.key')},file,plaintext,RSA,2048,,`,
  'ESP_SECURE_CERT_USER_DATA_1_TLV,0,"Device Model: ESP32-S3, rev ""C""",string,,,,',
  'ESP_SECURE_CERT_USER_DATA_2_TLV,3,0102,hex,,,,',
  'ESP_SECURE_CERT_USER_DATA_3_TLV,5,aGVsbG8gd29ybGQ=,base64,,,,',
  'ESP_SECURE_CERT_USER_DATA_4_TLV,0,data/blob.bin,file,,,,',
  '55,254,serial-0001,string,,,,',
];

describe('generate --format esp-secure-cert --csv', () => {
  it('stores every row in order (CA subtypes 0 and 1, two device cert + key pairs, USER_DATA_1..5), then INTEGRITY/0', async () => {
    await writeFile(join(cwd, 'set', 'data', 'blob.bin'), Buffer.of(0, 1, 0xfe, 0xff));
    const csv = await writeCsv(FULL());
    const run = runCli(['generate', '--format', 'esp-secure-cert', '--csv', csv, '-o', 'out.bin'], { cwd });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toBe('');
    expect(run.stdout).toMatch(/^wrote out\.bin: \d+ bytes, esp_secure_cert partition \(TLV format\)\n/);
    expect(run.stdout).toMatch(/^USER_DATA_2\/3 +0x[0-9a-f]{4} +2 +2 bytes \(hex\) +line 9$/m);
    expect(run.stdout).toMatch(/^USER_DATA_4\/0 +0x[0-9a-f]{4} +4 +4 bytes \(file\) +data\/blob\.bin$/m);
    const image = await readFile(join(cwd, 'out.bin'));
    expect((await stat(join(cwd, 'out.bin'))).mode & 0o777).toBe(0o600);
    const decoded = decodeTlvImage(image);
    expect(decoded.problems).toEqual([]);
    expect(decoded.entries.every(({ entry }) => entry.crcOk && entry.flags === 0)).toBe(true);
    expect(decoded.entries.map(({ entry }) => [entry.type, entry.subtype, entry.value.toString('hex')])).toEqual([
      [0, 0, pem('ca.crt').toString('hex')],
      [0, 1, pem('ca.crt').toString('hex')],
      [1, 0, pem('device.crt').toString('hex')],
      [2, 0, pem('device-sec1.key').toString('hex')],
      [1, 1, pem('rsa.crt').toString('hex')],
      [2, 1, pem('rsa.key').toString('hex')],
      [51, 0, Buffer.from('Device Model: ESP32-S3, rev "C"').toString('hex')],
      [52, 3, '0102'],
      [53, 5, Buffer.from('hello world').toString('hex')],
      [54, 0, '0001feff'],
      [55, 254, Buffer.from('serial-0001').toString('hex')],
      [9, 0, expect.stringMatching(/^[0-9a-f]{64}$/)],
    ]);
    const integrity = decoded.entries.at(-1)!;
    expect(integrity.info).toEqual({ kind: 'integrity', ok: true, coveredBytes: integrity.entry.offset });

    const inspect = runCli(['inspect', 'out.bin'], { cwd });
    expect(inspect.code, inspect.stderr).toBe(0);
    expect(inspect.stdout).toMatch(/^0x[0-9a-f]{4} +PRIV_KEY +1 +0x00 +1676 .* plaintext PKCS#1 PEM private key: RSA 2048$/m);
    expect(inspect.stdout).toMatch(/^0x[0-9a-f]{4} +USER_DATA_1 +0 .* text "Device Model: ESP32-S3, rev \\"C\\""$/m);
    expect(inspect.stdout).toMatch(/^0x[0-9a-f]{4} +USER_DATA_2 +3 +0x00 +2 +14 +ok +bytes 0102$/m);
    expect(inspect.stdout).toMatch(/^0x[0-9a-f]{4} +USER_DATA_4 +0 .* bytes 0001feff$/m);
    expect(inspect.stdout).toMatch(/^No problems found\.$/m);
    // Never the key bytes.
    for (const key of ['device-sec1.key', 'rsa.key']) {
      const body = fixture(key).toString().split('\n')[2]!;
      expect(body.length).toBeGreaterThan(20);
      expect(inspect.stdout).not.toContain(body);
      expect(run.stdout).not.toContain(body);
    }
  });

  it('prints the entries in the --json end record', async () => {
    const csv = await writeCsv(['ESP_SECURE_CERT_USER_DATA_2_TLV,3,0102,hex,,,,']);
    const run = runCli(['generate', '--json', '--format', 'esp-secure-cert', '--csv', csv, '-o', 'u.bin'], { cwd });
    expect(run.code, run.stderr).toBe(0);
    expect(endRecord(run)).toMatchObject({ ok: true, result: { output: 'u.bin', size: 80, items: [{ name: 'USER_DATA_2/3', offset: 0, length: 2 }, { name: 'INTEGRITY/0', offset: 32 }] } });
    // The worked example of the format notes (vector tlv_csv_subtypes_userdata @0xB50).
    expect((await readFile(join(cwd, 'u.bin'))).subarray(0, 32).toString('hex')).toBe('11ba5eba0000000034030200010200000000000000000000000000004e629e6f');
    expect((await stat(join(cwd, 'u.bin'))).mode & 0o777).toBe(0o644);
  });

  it('validates each device certificate with the key of its subtype: a crossed pair exits 2, nothing written', async () => {
    const csv = await writeCsv([`0,0,${fx('ca.crt')},file`, `1,0,${fx('device.crt')},file`, `2,0,${fx('rsa.key')},file`, `1,1,${fx('rsa.crt')},file`, `2,1,${fx('device.key')},file`]);
    const run = runCli(['generate', '--format', 'esp-secure-cert', '--csv', csv, '-o', 'x.bin'], { cwd });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/PRIV_KEY\/0 at 0x[0-9a-f]{4}\): does not belong to cert #0 \(DEV_CERT\/0/);
    expect(run.stderr).toMatch(/PRIV_KEY\/1 at 0x[0-9a-f]{4}\): does not belong to cert #0 \(DEV_CERT\/1/);
    await expect(stat(join(cwd, 'x.bin'))).rejects.toThrow();
  });

  it('accepts pairs listed in any order', async () => {
    const csv = await writeCsv([`1,1,${fx('rsa.crt')},file`, `1,0,${fx('device.crt')},file`, `2,0,${fx('device.key')},file`, `2,1,${fx('rsa.key')},file`, `0,0,${fx('ca.crt')},file`]);
    const run = runCli(['generate', '--format', 'esp-secure-cert', '--csv', csv, '-o', 'x.bin'], { cwd });
    expect(run.code, run.stderr).toBe(0);
  });

  it('bad input: one line, exit 2, naming the CSV line; nothing written', async () => {
    const out = join(cwd, 'x.bin');
    const generate = (csv: string, ...more: string[]) => runCli(['generate', '--format', 'esp-secure-cert', '--csv', csv, '-o', out, ...more], { cwd });
    let csv = await writeCsv(['51,0,a,string', '52,0,data/missing.bin,file']);
    expectOneLineError(generate(csv), 2, /esp_secure_cert\.csv line 3: cannot read .*missing\.bin: no such file/);
    csv = await writeCsv([`2,0,${fx('rsa.key')},file,rsa_ds,RSA,2048,1,`]);
    expectOneLineError(generate(csv), 2, /esp_secure_cert\.csv line 2: ds-peripheral keys cannot be provisioned by at-pki: .*espefuse\.py/);
    csv = await writeCsv([`2,0,${fx('device.key')},file,ecdsa_peripheral,ECDSA,256,1,`]);
    expectOneLineError(generate(csv), 2, /line 2: ecdsa-peripheral keys cannot be provisioned by at-pki/);
    csv = await writeCsv(['51,0,a,string', '52,1,abc,hex']);
    expectOneLineError(generate(csv), 2, /esp_secure_cert\.csv line 3: bad hex data_value/);
    csv = await writeCsv([`2,0,${fx('device-encrypted.key')},file`]);
    expectOneLineError(generate(csv), 2, /line 2 \(.*device-encrypted\.key\): the private key is encrypted/);
    csv = await writeCsv(['51,0,a,string']);
    expectOneLineError(generate(csv, '--ca-cert', fx('ca.crt')), 2, /--csv names every entry; drop --ca-cert$/);
    expectOneLineError(generate(csv, '--private-key', fx('device.key'), '--device-cert', fx('device.crt')), 2, /--csv names every entry; drop --device-cert, --private-key$/);
    expectOneLineError(runCli(['generate', '--format', 'esp-secure-cert', '--csv', csv, '--append-integrity', 'x.bin'], { cwd }), 2, /--append-integrity works on an existing image; drop --csv$/);
    expectOneLineError(runCli(['generate', '--format', 'cust-flash', '--csv', csv, '-o', out], { cwd }), 2, /--csv is for --format nvs or mfg-nvs \(--csv also for esp-secure-cert\)$/);
    await expect(stat(out)).rejects.toThrow();
  });
});
