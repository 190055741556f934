/** `generate --format nvs` (the generator's CSV) and `--format mfg-nvs` (ESP-AT's raw_data) over the CLI. */
import { copyFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { decodeNvs } from '../../src/pki/nvs/decoder.js';
import { nvsVectors } from '../pki/nvs/support.js';
import { fixturesDir } from '../pki/paths.js';
import { endRecord, ensureBuilt, expectOneLineError, runCli } from './harness.js';


// Each test runs the CLI several times; on a loaded machine one run can take seconds.
vi.setConfig({ testTimeout: 120_000 });
const vectors = nvsVectors();
const client = vectors.find((v) => v.name === 'mfg_nvs_client')!;
let work: string;
let cwd: string;
let counter = 0;

beforeAll(async () => {
  ensureBuilt();
  work = await mkdtemp(join(tmpdir(), 'at-pki-nvs-generate-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});
beforeEach(async () => {
  cwd = join(work, `t${counter++}`);
  await mkdir(cwd);
});

/** ESP-AT's raw_data layout holding the mfg_nvs_client vector's inputs. */
async function rawData(namespaces: Record<string, string[]>): Promise<string> {
  const root = join(cwd, 'raw_data');
  for (const [ns, files] of Object.entries(namespaces)) {
    await mkdir(join(root, ns), { recursive: true });
    for (const file of files) await copyFile(join(client.dir, 'inputs', file), join(root, ns, file));
  }
  return root;
}

describe('generate --format nvs', () => {
  for (const vector of vectors) {
    it(`${vector.name}: expected.bin byte for byte (file paths relative to the CSV's folder)`, async () => {
      const out = join(cwd, 'out.bin');
      const run = runCli(['generate', '--format', 'nvs', '--csv', vector.csvPath, '--size', `0x${vector.size.toString(16)}`, '--nvs-version', String(vector.version), '-o', out], { cwd });
      expect(run.code, run.stderr).toBe(0);
      expect((await readFile(out)).equals(vector.expected)).toBe(true);
      expect(run.stdout).toMatch(new RegExp(`^wrote ${out}: ${vector.expected.length} bytes, NVS version ${vector.version}`));
    });
  }

  it('--json: the keys with page and entry; default output named after the CSV', async () => {
    const vector = vectors.find((v) => v.name === 'factory_param_types')!;
    const run = runCli(['generate', '--format', 'nvs', '--csv', vector.csvPath, '--size', '12288', '--json'], { cwd });
    expect(run.code, run.stderr).toBe(0);
    const result = endRecord(run).result;
    expect(result).toMatchObject({ output: 'factory_param_types.bin', size: 12288, version: 2, pagesUsed: 1 });
    expect(result.items[0]).toEqual({ namespace: 'factory_param', key: 'magic_flag', type: 'u8', size: 1, page: 0, entry: 1 });
    expect((await readFile(join(cwd, 'factory_param_types.bin'))).equals(vector.expected)).toBe(true);
  });

  it('bad input: one line, exit 2, naming the CSV line; nothing written', async () => {
    const csv = join(cwd, 'bad.csv');
    await writeFile(csv, 'key,type,encoding,value\nns,namespace,,\nok,data,u8,1\nbad,data,u8,300\n');
    expectOneLineError(runCli(['generate', '--format', 'nvs', '--csv', csv, '--size', '0x3000', '-o', join(cwd, 'x.bin')], { cwd }), 2, `${csv} line 4: 300 does not fit in u8 (0 … 255)`);
    await writeFile(csv, 'key,type,encoding,value\nns,namespace,,\nf,file,binary,missing.bin\n');
    expectOneLineError(runCli(['generate', '--format', 'nvs', '--csv', csv, '--size', '0x3000', '-o', join(cwd, 'x.bin')], { cwd }), 2, /line 3: cannot read .*missing\.bin: no such file/);
    expectOneLineError(runCli(['generate', '--format', 'nvs', '--csv', csv], { cwd }), 2, /needs --size/);
    expectOneLineError(runCli(['generate', '--format', 'nvs', '--csv', csv, '--size', '5000'], { cwd }), 2, /5000 is not a multiple of 4096/);
    expectOneLineError(runCli(['generate', '--size', '0x3000', 'cert', 'x.crt'], { cwd }), 2, /--size is for --format nvs or mfg-nvs/);
    expectOneLineError(runCli(['generate', '--format', 'cust-flash', '--csv', csv, '--device-cert', 'x.crt'], { cwd }), 2, /--csv is for --format nvs or mfg-nvs \(--csv also for esp-secure-cert\)$/);
    expectOneLineError(runCli(['generate', '--format', 'esp-secure-cert', '--csv', csv, '--device-cert', 'x.crt'], { cwd }), 2, /--csv names every entry; drop --device-cert$/);
    await expect(stat(join(cwd, 'x.bin'))).rejects.toThrow();
  });
});

describe('generate --format mfg-nvs', () => {
  it("ESP-AT's raw_data → the mfg_nvs_client vector byte for byte (keys <ns>.0, <ns>.1)", async () => {
    const root = await rawData({
      client_ca: ['client_ca_00.crt', 'client_ca_01.crt'],
      client_cert: ['client_cert_00.crt', 'client_cert_01.crt'],
      client_key: ['client_key_00.key', 'client_key_01.key'],
    });
    await mkdir(join(root, 'factory_param'));
    await writeFile(join(root, 'factory_param', 'factory_param_data.csv'), 'platform,module_name\n');
    const run = runCli(['generate', '--format', 'mfg-nvs', '--from', root, '--no-validate'], { cwd });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain('ignored');
    const image = await readFile(join(cwd, 'mfg_nvs.bin'));
    expect(image.equals(client.expected)).toBe(true);
    expect((await stat(join(cwd, 'mfg_nvs.bin'))).mode & 0o777).toBe(0o600);
  });

  it('one file in a client_* folder is still <ns>.0 (with a note); single-key namespaces; factory_param first', async () => {
    const root = await rawData({ client_cert: ['client_cert_00.crt'], mqtt_ca: ['client_ca_00.crt'] });
    const factory = join(cwd, 'factory.csv');
    await writeFile(factory, 'key,type,encoding,value\nmodule_name,data,string,MINI-1\nuart_baudrate,data,i32,115200\n');
    const run = runCli(['generate', '--format', 'mfg-nvs', '--from', root, '--factory-param', factory, '--size', '0x6000', '--no-validate', '-o', 'm.bin', '--json'], { cwd });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/client_cert: one file, stored as client_cert\.0 .*mfg_nvs\.py would name it client_cert/);
    const decoded = decodeNvs(await readFile(join(cwd, 'm.bin')));
    expect(decoded.items.map((item) => `${item.namespace}/${item.key}`)).toEqual(['factory_param/module_name', 'factory_param/uart_baudrate', 'client_cert/client_cert.0', 'mqtt_ca/mqtt_ca']);
    expect(endRecord(run).result).toMatchObject({ format: 'mfg-nvs', size: 0x6000 });
  });

  it('validation per group: a client key that does not belong to the client certificate is refused', async () => {
    const root = join(cwd, 'raw_data');
    await mkdir(join(root, 'client_cert'), { recursive: true });
    await mkdir(join(root, 'client_key'), { recursive: true });
    await copyFile(join(fixturesDir, 'device.crt'), join(root, 'client_cert', 'a.crt'));
    await copyFile(join(fixturesDir, 'other.key'), join(root, 'client_key', 'a.key'));
    const run = runCli(['generate', '--format', 'mfg-nvs', '--from', root], { cwd });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/validation failed/);
    expectOneLineError(runCli(['generate', '--format', 'mfg-nvs', '--from', join(cwd, 'nothing')], { cwd }), 2, /cannot read .*nothing: no such folder/);
    expectOneLineError(runCli(['generate', '--format', 'mfg-nvs'], { cwd }), 2, /needs --from RAW_DATA/);
  });
});
