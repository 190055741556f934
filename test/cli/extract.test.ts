import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePkiBin } from '../../src/pki/bin-format.js';
import { atpkiVectors, fixture } from '../pki/paths.js';
import { endRecord, ensureBuilt, expectOneLineError, runCli } from './harness.js';

const mixed = atpkiVectors().find((vector) => vector.name === 'mixed_types')!;
let work: string;
let counter = 0;

beforeAll(async () => {
  ensureBuilt();
  work = await mkdtemp(join(tmpdir(), 'at-pki-extract-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const freshDir = (): string => join(work, `out${counter++}`);

describe('extract', () => {
  it('writes each item to <type>_<index>.pem, byte for byte, keys owner-only', async () => {
    const out = freshDir();
    const run = runCli(['extract', join(mixed.dir, 'expected.bin'), '-o', out]);
    expect(run.code, run.stderr).toBe(0);
    expect((await readdir(out)).sort()).toEqual(['ca_0.pem', 'cert_0.pem', 'key_0.pem']);
    for (const [name, source] of [
      ['cert_0.pem', 'mqtt_client.crt'],
      ['key_0.pem', 'mqtt_client.key'],
      ['ca_0.pem', 'mqtt_ca.crt'],
    ]) {
      expect((await readFile(join(out, name!))).equals(await readFile(join(mixed.dir, source!)))).toBe(true);
    }
    expect((await stat(join(out, 'key_0.pem'))).mode & 0o777).toBe(0o600);
    expect(run.stdout).toMatch(/^extracted 3 items from .* to /);
  });

  it('names DER content .der and numbers items within their type', async () => {
    const bin = join(work, 'der.bin');
    await writeFile(bin, encodePkiBin([{ type: 'cert', content: fixture('device.crt.der') }, { type: 'cert', content: fixture('rsa.crt') }]));
    const out = freshDir();
    const run = runCli(['extract', '--json', bin, '-o', out]);
    expect(run.code, run.stderr).toBe(0);
    expect((await readdir(out)).sort()).toEqual(['cert_0.der', 'cert_1.pem']);
    expect((await readFile(join(out, 'cert_0.der'))).equals(fixture('device.crt.der'))).toBe(true);
    expect(endRecord(run)).toMatchObject({ ok: true, result: { files: [{ path: join(out, 'cert_0.der'), encoding: 'der' }, { path: join(out, 'cert_1.pem') }] } });
  });

  it('refuses to overwrite, writing nothing, unless --force', async () => {
    const out = freshDir();
    expect(runCli(['extract', join(mixed.dir, 'expected.bin'), '-o', out]).code).toBe(0);
    await writeFile(join(out, 'cert_0.pem'), 'mine');
    await rm(join(out, 'ca_0.pem'));
    const run = runCli(['extract', join(mixed.dir, 'expected.bin'), '-o', out]);
    expectOneLineError(run, 2, /cert_0\.pem, .*key_0\.pem already exist \(use --force to overwrite\)/);
    expect((await readdir(out)).sort()).toEqual(['cert_0.pem', 'key_0.pem']);
    expect(runCli(['extract', '--force', join(mixed.dir, 'expected.bin'), '-o', out]).code).toBe(0);
    expect((await readFile(join(out, 'cert_0.pem'))).equals(await readFile(join(mixed.dir, 'mqtt_client.crt')))).toBe(true);
  });

  it('needs -o', () => {
    expectOneLineError(runCli(['extract', join(mixed.dir, 'expected.bin')]), 2, /required option '-o, --output <dir>' not specified/);
  });

  it('exits 2 for a file that is not a PKI bin', () => {
    expectOneLineError(runCli(['extract', join(mixed.dir, 'pairs.txt'), '-o', freshDir()]), 2, /not an ESP-AT PKI bin/);
  });
});
