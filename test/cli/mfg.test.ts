/** End to end: the CLI against an ESP-AT 3.x emulator (credentials in mfg_nvs) on a pseudo-terminal. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EspAtEmulator, servePty } from '../../mock-device/index.js';
import { repoRoot } from '../pki/paths.js';
import { ensureBuilt, expectOneLineError, jsonLines, runCliAsync } from './harness.js';

const rawData = join(repoRoot, 'examples', 'raw_data');
let work: string;
let emulator: EspAtEmulator;
let pty: { path: string; close(): Promise<void> };

beforeAll(() => {
  ensureBuilt();
  work = mkdtempSync(join(tmpdir(), 'at-pki-mfg-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

beforeEach(async () => {
  emulator = new EspAtEmulator({ chip: 'esp32c3', firmware: '3.2.0.0', mfg: 'default' });
  pty = await servePty(emulator);
});
afterEach(async () => {
  await pty.close();
  emulator.dispose();
});

const cli = (...args: string[]) => runCliAsync(args, { cwd: work });

describe('update on ESP-AT 3.x', () => {
  it('writes client_cert.0 and .1 as binary keys from raw_data, and nothing the second time', async () => {
    const run = await cli('update', '--port', pty.path, 'client_cert', '--from', rawData);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/wrote client_cert\.0, client_cert\.1 in mfg_nvs namespace client_cert.*verified/);
    for (const i of [0, 1]) {
      const expected = readFileSync(join(rawData, 'client_cert', `client_cert_0${i}.crt`));
      const stored = emulator.readMfg('client_cert', `client_cert.${i}`);
      expect(stored?.type).toBe(8);
      expect(stored?.bytes).toEqual(expected);
    }
    const again = await cli('update', '--port', pty.path, 'client_cert', '--from', rawData, '--json');
    expect(again.code).toBe(0);
    expect(jsonLines(again).at(-1)).toMatchObject({ type: 'end', ok: true, result: { storage: 'mfg_nvs', unchanged: true, bytesWritten: 0 } });
  });

  it('erases a stale third key of an earlier, longer set', async () => {
    emulator.writeMfgRaw('client_ca', 'client_ca.2', 8, Buffer.from('stale'));
    const run = await cli('update', '--port', pty.path, 'client_ca', '--from', rawData);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/erased stale client_ca\.2/);
    expect(emulator.mfgKeys('client_ca').map((k) => k.key).sort()).toEqual(['client_ca.0', 'client_ca.1']);
  });

  it('refuses a key sent to a certificate namespace', async () => {
    const key = join(rawData, 'client_key', 'client_key_00.key');
    expectOneLineError(await cli('update', '--port', pty.path, 'client_cert', 'key', key), 2, /client_cert holds cert items, but key #0/);
  });

  it('refuses the legacy PKI partitions, which a 3.x module does not have', async () => {
    expectOneLineError(await cli('read', '--port', pty.path, 'client_cert', '-o', 'x.bin'), 2, /no partition named "client_cert" \(this module keeps credentials in mfg_nvs/);
  });

  it('shows the storage mode in partitions', async () => {
    const run = await cli('partitions', '--port', pty.path);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/ESP-AT 3\.2\.0\.0 .*credentials in mfg_nvs/);
    expect(run.stdout).toMatch(/mfg_nvs\s+1\s+2\s+0x1f000/);
  });
});

describe('at-pki mfg', () => {
  it('lists namespaces and keys', async () => {
    const namespaces = await cli('mfg', 'list', '--port', pty.path, '--json');
    expect(jsonLines(namespaces).at(-1)!.result.namespaces).toEqual(expect.arrayContaining(['client_cert', 'factory_param']));
    const keys = await cli('mfg', 'list', '--port', pty.path, 'client_cert');
    expect(keys.stdout).toMatch(/client_cert\.0\s+binary/);
  });

  it('writes, reads back and erases binary, string and numeric values', async () => {
    writeFileSync(join(work, 'v.bin'), Buffer.from([0, 1, 2, 0xff]));
    expect((await cli('mfg', 'write', '--port', pty.path, 'test_ns', 'blob', 'v.bin')).code).toBe(0);
    expect(emulator.readMfg('test_ns', 'blob')?.bytes).toEqual(Buffer.from([0, 1, 2, 0xff]));
    expect((await cli('mfg', 'read', '--port', pty.path, 'test_ns', 'blob', '-o', 'back.bin')).code).toBe(0);
    expect(readFileSync(join(work, 'back.bin'))).toEqual(Buffer.from([0, 1, 2, 0xff]));

    writeFileSync(join(work, 's.txt'), 'hello');
    expect((await cli('mfg', 'write', '--port', pty.path, 'test_ns', 'greeting', '--type', 'string', 's.txt')).code).toBe(0);
    expect((await cli('mfg', 'read', '--port', pty.path, 'test_ns', 'greeting')).stdout.trim()).toBe('hello');

    expect((await cli('mfg', 'write', '--port', pty.path, 'test_ns', 'baud', '--type', 'i32', '--value', '-5')).code).toBe(0);
    expect((await cli('mfg', 'read', '--port', pty.path, 'test_ns', 'baud')).stdout.trim()).toBe('-5');

    expect((await cli('mfg', 'erase', '--port', pty.path, 'test_ns', 'baud')).code).toBe(0);
    expect(emulator.readMfg('test_ns', 'baud')).toBeUndefined();
  });

  it('refuses bad values and names before sending anything', async () => {
    emulator.resetStats();
    writeFileSync(join(work, 'nul.txt'), Buffer.from('a\x00b'));
    expectOneLineError(await cli('mfg', 'write', '--port', pty.path, 'test_ns', 'k', '--type', 'string', 'nul.txt'), 2, /cannot contain NUL/);
    writeFileSync(join(work, 'big.bin'), Buffer.alloc(8192, 1));
    expectOneLineError(await cli('mfg', 'write', '--port', pty.path, 'test_ns', 'k', 'big.bin'), 2, /at most 8191 bytes/);
    expectOneLineError(await cli('mfg', 'write', '--port', pty.path, 'test_ns', 'k', '--type', 'u8', '--value', '300'), 2, /does not fit a u8/);
    expectOneLineError(await cli('mfg', 'read', '--port', pty.path, 'test_ns', 'a"b'), 2, /printable characters other than quotes/);
    expectOneLineError(await cli('mfg', 'list', '--port', pty.path, 'sixteen_chars_ns'), 2, /at most 15/);
    expect(emulator.stats.mfgWrites).toBe(0);
  });

  it('says clearly that a legacy module has no mfg_nvs', async () => {
    await pty.close();
    emulator.dispose();
    emulator = new EspAtEmulator({ chip: 'esp32c3' });
    pty = await servePty(emulator);
    expectOneLineError(await cli('mfg', 'list', '--port', pty.path), 2, /keeps credentials in partitions/);
  });
});
