/** `inspect` of NVS images: every vector decoded completely, damage reported with exit 2, esp_secure_cert's legacy nvs layout, never key bytes. */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { setEntryState } from '../../src/pki/nvs/entry-states.js';
import { nvsVectors } from '../pki/nvs/support.js';
import { repoRoot } from '../pki/paths.js';
import { endRecord, ensureBuilt, expectOneLineError, runCli } from './harness.js';


// Each test runs the CLI several times; on a loaded machine one run can take seconds.
vi.setConfig({ testTimeout: 120_000 });
const vectors = nvsVectors();
const client = vectors.find((v) => v.name === 'mfg_nvs_client')!;
const secureCertInputs = join(repoRoot, 'test/vectors/esp_secure_cert/legacy_cust_flash_ec_p256/inputs');
let work: string;
let cwd: string;
let counter = 0;

beforeAll(async () => {
  ensureBuilt();
  work = await mkdtemp(join(tmpdir(), 'at-pki-nvs-inspect-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});
beforeEach(async () => {
  cwd = join(work, `t${counter++}`);
  await mkdir(cwd);
});

describe('inspect an NVS image', () => {
  for (const vector of vectors) {
    it(`${vector.name}: every key, its type and value`, () => {
      const run = runCli(['inspect', '--json', join(vector.dir, 'expected.bin')]);
      expect(run.code, run.stderr).toBe(0);
      const report = endRecord(run).result;
      expect(report).toMatchObject({ format: 'nvs', valid: true, version: vector.version, fileSize: vector.expected.length, erased: [], problems: [] });
      const keys = vector.rows.filter((row) => row.type !== 'namespace').map((row) => row.key);
      expect(report.items.map((item: { key: string }) => item.key)).toEqual(keys);
      expect(report.items.every((item: { readable: boolean }) => item.readable)).toBe(true);
    });
  }

  it('values: integers and text shown, certificates described, keys never shown', () => {
    const params = runCli(['inspect', '--json', join(vectors.find((v) => v.name === 'factory_param_types')!.dir, 'expected.bin')]);
    const items = Object.fromEntries(endRecord(params).result.items.map((item: { key: string; content: unknown }) => [item.key, item.content]));
    expect(items.tx_max_power).toEqual({ kind: 'integer', value: '-78' });
    expect(items.max_conn).toEqual({ kind: 'integer', value: '4000000000' });
    expect(items.module_name).toEqual({ kind: 'text', text: 'WROOM-32', truncated: false });
    expect(items.hexdata).toEqual({ kind: 'bytes', hex: '00112233445566778899aabbccddeeff', truncated: false });

    const run = runCli(['inspect', join(client.dir, 'expected.bin')]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('client_key.0   blob (1 chunk)   1675  1/88   PKCS#1 PEM private key: RSA 2048');
    expect(run.stdout).toContain('ESP-AT reads client_cert: client_cert.0, client_cert.1');
    const keyBody = client.files.get('inputs/client_key_00.key')!.toString('latin1').split('\n')[1]!;
    expect(run.stdout).not.toContain(keyBody);
    expect(run.stdout).toMatch(/^3-27 +0x3000 +blank/m);
  });

  it('a damaged image: the report, then one line and exit 2 (--json: the report in error.details)', async () => {
    const image = Buffer.from(client.expected);
    image[64 + 2 * 32 + 100] ^= 0xff; // inside client_ca.0's data
    const path = join(cwd, 'damaged.bin');
    await writeFile(path, image);
    const run = runCli(['inspect', path]);
    expect(run.code).toBe(2);
    expect(run.stdout).toContain('client_ca    client_ca.0    blob (1 chunk)   1164  0/39   UNREADABLE (see the errors)');
    expect(run.stderr).toBe(`at-pki: ${path}: damaged NVS image: page 0 entry 1: data CRC mismatch for "client_ca.0"\n`);
    const json = runCli(['inspect', '--json', path]);
    expect(json.code).toBe(2);
    const end = endRecord(json);
    expect(end.ok).toBe(false);
    expect(end.error.details.report.valid).toBe(false);
  });

  it('erased entries and keys the firmware does not read', async () => {
    const image = Buffer.from(client.expected);
    setEntryState(image.subarray(32, 64), 0, 'written'); // no-op: stays written
    for (let i = 40; i <= 78; i++) setEntryState(image.subarray(32, 64), i, 'erased'); // client_ca.1 (chunk + index)
    const path = join(cwd, 'erased.bin');
    await writeFile(path, image);
    const run = runCli(['inspect', path]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('page 0 entry 40: blob_data "client_ca.1" (38 entries)');
    expect(run.stdout).toContain('page 0 entry 78: blob_index "client_ca.1" (1 entry)');
    expect(run.stdout).toContain('ESP-AT reads client_ca: client_ca.0\n');

    const csv = join(cwd, 'single.csv');
    await writeFile(csv, `key,type,encoding,value\nclient_cert,namespace,,\nclient_cert,file,binary,${join(client.dir, 'inputs/client_cert_00.crt')}\n`);
    expect(runCli(['generate', '--format', 'nvs', '--csv', csv, '--size', '0x3000', '-o', 'single.bin'], { cwd }).code).toBe(0);
    const single = runCli(['inspect', join(cwd, 'single.bin')]);
    expect(single.stdout).toContain('  ESP-AT reads client_cert: nothing\n    not read (the firmware looks for client_cert.0, client_cert.1… (up to the first gap)): client_cert');
  });

  it("esp_secure_cert's legacy nvs layout (as configure_esp_secure_cert.py writes it) reads as such", async () => {
    const csv = join(cwd, 'esp_secure_cert.csv');
    await writeFile(
      csv,
      `# generated\nkey,type,encoding,value\nesp_secure_cert,namespace,,\nca_cert,file,string,${secureCertInputs}/ca_cert.pem\ndev_cert,file,string,${secureCertInputs}/device_cert.pem\npriv_key,file,string,${secureCertInputs}/priv_key.pem\n`,
    );
    const gen = runCli(['generate', '--format', 'nvs', '--csv', csv, '--size', '0x3000', '-o', 'esp_secure_cert.bin'], { cwd });
    expect(gen.code, gen.stderr).toBe(0);
    const run = runCli(['inspect', join(cwd, 'esp_secure_cert.bin')]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/esp_secure_cert partition \(legacy nvs layout, an NVS partition\)/);
    expect(run.stdout).toContain('  device cert: esp_secure_cert/dev_cert (string)');
    expect(run.stdout).toContain('  private key: esp_secure_cert/priv_key (string)');
    expect(run.stdout).toMatch(/priv_key +string +\d+ +0\/\d+ +(SEC1|PKCS#8) PEM private key: EC prime256v1/);
    const pem = (await readFile(join(secureCertInputs, 'priv_key.pem'), 'latin1')).split('\n')[1]!;
    expect(run.stdout).not.toContain(pem);
    const json = endRecord(runCli(['inspect', '--json', join(cwd, 'esp_secure_cert.bin')]));
    expect(json.result.format).toBe('esp-secure-cert-nvs');
    expect(json.result.validation.errors).toEqual([]);
  });

  it('a PKI command given an NVS image says what it is', async () => {
    expectOneLineError(runCli(['extract', join(client.dir, 'expected.bin'), '-o', join(cwd, 'x')]), 2, /not an ESP-AT PKI bin but an NVS partition/);
  });
});
