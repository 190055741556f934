import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { atpkiVectors, fixturesDir } from '../pki/paths.js';
import { endRecord, ensureBuilt, expectOneLineError, runCli } from './harness.js';

const vectors = atpkiVectors();
let work: string;

beforeAll(async () => {
  ensureBuilt();
  work = await mkdtemp(join(tmpdir(), 'at-pki-generate-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** A fresh empty folder per test. */
let cwd: string;
let counter = 0;
beforeEach(async () => {
  cwd = join(work, `t${counter++}`);
  await mkdir(cwd);
});

const fx = (name: string): string => join(fixturesDir, name);

describe.each(vectors)('vector $name', (vector) => {
  // mixed_types holds a client certificate that its CA did not sign: it only goes through unvalidated.
  const flags = vector.name === 'mixed_types' ? ['--no-validate'] : [];

  it('generate -o writes expected.bin byte for byte', async () => {
    const run = runCli(['generate', ...flags, '-o', join(cwd, 'out.bin'), ...vector.args], { cwd: vector.dir });
    expect(run.code, run.stderr).toBe(0);
    expect((await readFile(join(cwd, 'out.bin'))).equals(vector.expected)).toBe(true);
  });

  it('generate_bin -b (the AtPKI.py syntax) writes the same', async () => {
    const run = runCli(['generate_bin', ...flags, '-b', join(cwd, 'out.bin'), ...vector.args], { cwd: vector.dir });
    expect(run.code, run.stderr).toBe(0);
    expect((await readFile(join(cwd, 'out.bin'))).equals(vector.expected)).toBe(true);
  });
});

describe('generate', () => {
  it('writes PKI.bin by default and prints a short summary', async () => {
    const run = runCli(['generate', 'cert', fx('device.crt'), 'cert', fx('rsa.crt')], { cwd });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^wrote PKI\.bin: \d+ bytes, 2 items\n/);
    expect(run.stdout).toContain(`cert #1`);
    expect((await stat(join(cwd, 'PKI.bin'))).size).toBe(Number(/(\d+) bytes/.exec(run.stdout)![1]));
  });

  it('prints a JSON end record with --json', async () => {
    const run = runCli(['generate', '--json', '-o', 'k.bin', 'key', fx('device.key')], { cwd });
    expect(run.code, run.stderr).toBe(0);
    const end = endRecord(run);
    expect(end).toMatchObject({ type: 'end', ok: true, result: { output: 'k.bin', count: 1, items: [{ type: 'key', id: 0, offset: 8 }] } });
    expect(end.result.size).toBe((await stat(join(cwd, 'k.bin'))).size);
  });

  it('creates bins holding keys readable by the owner only', async () => {
    expect(runCli(['generate', '-o', 'k.bin', 'key', fx('device.key')], { cwd }).code).toBe(0);
    expect((await stat(join(cwd, 'k.bin'))).mode & 0o777).toBe(0o600);
  });

  it('stops on validation errors, writing nothing', async () => {
    const run = runCli(['generate', 'cert', fx('device.crt'), 'key', fx('other.key')], { cwd });
    expectOneLineError(run, 2, /validation failed: key #0 \(.*other\.key\): does not belong to cert #0/);
    expect(await readdir(cwd)).toEqual([]);
  });

  it('lists several validation errors, then fails in one line', async () => {
    const run = runCli(['generate', 'key', fx('device-encrypted.key'), 'key', fx('device.crt')], { cwd });
    expect(run.code).toBe(2);
    const lines = run.stderr.trim().split('\n');
    expect(lines).toEqual([
      expect.stringMatching(/^at-pki: error: key #0 .*encrypted/),
      expect.stringMatching(/^at-pki: error: key #1 .*expected a private key, found a certificate/),
      'at-pki: validation failed with 2 errors (listed above; --no-validate writes the bin anyway)',
    ]);
  });

  it('puts validation errors in the JSON error details', () => {
    const run = runCli(['generate', '--json', 'cert', fx('device.crt'), 'key', fx('other.key')], { cwd });
    expect(run.code).toBe(2);
    expect(endRecord(run)).toMatchObject({
      type: 'end',
      ok: false,
      error: { code: 'BAD_INPUT', details: { errors: [{ code: 'KEY_MISMATCH', item: { type: 'key', index: 0 } }] } },
    });
  });

  it('writes despite validation errors with --no-validate', async () => {
    const run = runCli(['generate', '--no-validate', 'cert', fx('device.crt'), 'key', fx('other.key')], { cwd });
    expect(run.code, run.stderr).toBe(0);
    expect(await readdir(cwd)).toEqual(['PKI.bin']);
  });

  it('prints validation warnings on stderr and still writes', async () => {
    const run = runCli(['generate', 'cert', fx('expired.crt')], { cwd });
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/^at-pki: warning: cert #0 \(.*expired\.crt\): the certificate expired on 2001-01-01T00:00:00Z\n$/);
  });

  it('refuses a bin larger than --partition-size, writing nothing', async () => {
    const run = runCli(['generate', '--partition-size', '256', 'cert', fx('device.crt')], { cwd });
    expectOneLineError(run, 2, /the bin is \d+ bytes, \d+ more than the partition holds/);
    expect(await readdir(cwd)).toEqual([]);
  });

  it('checks against a named partition', async () => {
    const run = runCli(['generate', '--partition-size', 'client_cert', 'cert', fx('device.crt')], { cwd });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/; \d+ of the 8192 bytes of partition client_cert left/);
    const big = join(cwd, 'big.crt');
    await writeFile(big, Buffer.alloc(8200, 0x41));
    expectOneLineError(runCli(['generate', '--no-validate', '--partition-size', 'client_cert', 'cert', big], { cwd }), 2, /more than partition client_cert holds/);
  });

  it('refuses an unknown --partition-size', () => {
    expectOneLineError(runCli(['generate', '--partition-size', 'client', 'cert', fx('device.crt')], { cwd }), 2, "bad partition size 'client'");
  });

  it.each<[string, string[], RegExp | string]>([
    ['a missing file', ['cert', 'nope.crt'], 'at-pki: cannot read nope.crt: no such file'],
    ['a directory', ['cert', '.'], 'at-pki: . is a directory, not a file'],
    ['an odd number of arguments', ['cert', 'a.crt', 'key'], /odd number of arguments/],
    ['no items', [], /expected <type> <file> pairs, got none/],
    ['an unknown type', ['pem', 'a.pem'], /unknown item type 'pem'/],
    ['an unknown option', ['--frmo', 'x'], /unknown option '--frmo'.*\(see 'at-pki generate --help'\)/],
  ])('exits 2 with one line for %s', (_name, args, message) => {
    expectOneLineError(runCli(['generate', ...args], { cwd }), 2, message);
  });

  it('leaves nothing behind when the output cannot be written', async () => {
    const run = runCli(['generate', '-o', join(cwd, 'missing-dir', 'x.bin'), 'cert', fx('device.crt')], { cwd });
    expectOneLineError(run, 2, /cannot write .*x\.bin: no such folder/);
    expect(await readdir(cwd)).toEqual([]);
  });

  it('replaces an existing output whole', async () => {
    await writeFile(join(cwd, 'PKI.bin'), Buffer.alloc(100_000, 0x55));
    expect(runCli(['generate', 'cert', fx('device.crt')], { cwd }).code).toBe(0);
    const bin = await readFile(join(cwd, 'PKI.bin'));
    expect(bin.length).toBeLessThan(1000);
    expect(await readdir(cwd)).toEqual(['PKI.bin']);
  });
});

describe('generate --from DIR <partition>', () => {
  let root: string;
  beforeAll(async () => {
    root = join(work, 'raw_data');
    await mkdir(join(root, 'client_cert'), { recursive: true });
    // Sorted by name: a-rsa.crt, b-device.crt.
    await writeFile(join(root, 'client_cert', 'b-device.crt'), await readFile(fx('device.crt')));
    await writeFile(join(root, 'client_cert', 'a-rsa.crt'), await readFile(fx('rsa.crt')));
    await writeFile(join(root, 'client_cert', 'notes.txt'), 'x');
  });

  it('takes the partition folder, writes <partition>.bin, warns about ignored files', async () => {
    const run = runCli(['generate', '--from', root, 'client_cert'], { cwd });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/^at-pki: warning: ignored .*notes\.txt: cert partitions take \*\.pem \*\.der \*\.cer \*\.crt\n$/);
    const expected = runCli(['generate', '-o', 'pairs.bin', 'cert', fx('rsa.crt'), 'cert', fx('device.crt')], { cwd });
    expect(expected.code).toBe(0);
    expect((await readFile(join(cwd, 'client_cert.bin'))).equals(await readFile(join(cwd, 'pairs.bin')))).toBe(true);
  });

  it('refuses a partition name without a type suffix', () => {
    expectOneLineError(runCli(['generate', '--from', root, 'factory_param'], { cwd }), 2, /must end in _ca, _cert or _key/);
  });

  it('takes exactly one partition name', () => {
    expectOneLineError(runCli(['generate', '--from', root, 'cert', 'x.crt'], { cwd }), 2, /--from takes exactly one partition name/);
  });
});
