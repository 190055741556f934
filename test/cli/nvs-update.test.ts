/**
 * Done-when of the NVS work: an image from `generate --format mfg-nvs`, written whole into an emulated
 * ESP-AT 3.x module with `update mfg_nvs --bin`, is read back key by key with AT+SYSMFG (`mfg read`);
 * a read-back of mfg_nvs is an image `inspect` decodes.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EspAtEmulator, servePty } from '../../mock-device/index.js';
import { repoRoot } from '../pki/paths.js';
import { endRecord, ensureBuilt, expectOneLineError, runCliAsync } from './harness.js';

const rawData = join(repoRoot, 'examples', 'raw_data');
let work: string;
let emulator: EspAtEmulator;
let pty: { path: string; close(): Promise<void> };

beforeAll(() => {
  ensureBuilt();
  work = mkdtempSync(join(tmpdir(), 'at-pki-nvs-update-'));
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
const files: Record<string, string[]> = {
  client_ca: ['client_ca_00.crt', 'client_ca_01.crt'],
  client_cert: ['client_cert_00.crt', 'client_cert_01.crt'],
  client_key: ['client_key_00.key', 'client_key_01.key'],
};

describe('update mfg_nvs (whole partition) on ESP-AT 3.x', () => {
  it('generate --format mfg-nvs → update mfg_nvs --bin --restart → every key read back with AT+SYSMFG', async () => {
    const gen = await cli('generate', '--format', 'mfg-nvs', '--from', rawData, '--no-validate', '-o', 'mfg_nvs.bin');
    expect(gen.code, gen.stderr).toBe(0);
    const image = readFileSync(join(work, 'mfg_nvs.bin'));
    const boots = emulator.stats.boots;

    const run = await cli('update', '--port', pty.path, 'mfg_nvs', '--bin', 'mfg_nvs.bin', '--restart');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/wrote the 114688-byte NVS image \(6 keys\) to mfg_nvs: \d+ sector\(s\) erased, \d+ bytes written; verified by reading back \d+ bytes; whole partition checked: .* in [\d.]+ s; module restarted/);
    expect(emulator.stats.boots).toBe(boots + 1);
    const partition = emulator.readPartition('mfg_nvs');
    expect(partition.subarray(0, image.length).equals(image)).toBe(true);
    expect(partition.subarray(image.length).every((byte) => byte === 0xff)).toBe(true);

    const list = await cli('mfg', 'list', '--port', pty.path);
    expect(list.stdout.trim().split('\n')).toEqual(['client_ca', 'client_cert', 'client_key']);
    for (const [namespace, names] of Object.entries(files)) {
      for (const [i, name] of names.entries()) {
        const out = join(work, `${namespace}.${i}`);
        const read = await cli('mfg', 'read', '--port', pty.path, namespace, `${namespace}.${i}`, '-o', out);
        expect(read.code, read.stderr).toBe(0);
        expect(readFileSync(out).equals(readFileSync(join(rawData, namespace, name)))).toBe(true);
      }
    }
  }, 120_000);

  it('--from RAW_DATA builds the image for the partition; without --restart the output says to restart; a read-back inspects as NVS', async () => {
    const run = await cli('update', '--port', pty.path, 'mfg_nvs', '--from', rawData, '--no-validate', '--json');
    expect(run.code, run.stderr).toBe(0);
    expect(endRecord(run).result).toMatchObject({ storage: 'nvs-partition', partition: 'mfg_nvs', length: 124 * 1024, keys: 6, restarted: false, restartNeeded: true, verified: true });
    const human = await cli('update', '--port', pty.path, 'mfg_nvs', '--from', rawData, '--no-validate');
    expect(human.stdout).toMatch(/already holds the 126976-byte NVS image \(6 keys\): nothing erased or written.*keeps the values it loaded at boot until it restarts: send AT\+RST \(or run again with --restart\)/);

    expect(emulator.readMfg('client_key', 'client_key.1')?.bytes.equals(readFileSync(join(rawData, 'client_key', 'client_key_01.key')))).toBe(true);
    const read = await cli('read', '--port', pty.path, 'mfg_nvs', '-o', 'back.bin');
    expect(read.code, read.stderr).toBe(0);
    const inspect = await cli('inspect', '--json', 'back.bin');
    expect(inspect.code, inspect.stderr).toBe(0);
    const report = endRecord(inspect).result;
    expect(report).toMatchObject({ format: 'nvs', valid: true });
    expect(report.items.map((item: { key: string }) => item.key)).toEqual(['client_ca.0', 'client_ca.1', 'client_cert.0', 'client_cert.1', 'client_key.0', 'client_key.1']);
  }, 120_000);

  it('refuses what is not a clean NVS image, module untouched', async () => {
    const before = emulator.readPartition('mfg_nvs');
    writeFileSync(join(work, 'pki.bin'), Buffer.from([0xf1, 0xf1, 0, 0, 0, 0, 0, 0]));
    expectOneLineError(await cli('update', '--port', pty.path, 'mfg_nvs', '--bin', 'pki.bin'), 2, /pki\.bin: not an NVS partition image but ESP-AT PKI bin/);
    const gen = await cli('generate', '--format', 'mfg-nvs', '--from', rawData, '--no-validate', '-o', 'm.bin');
    expect(gen.code).toBe(0);
    const damaged = readFileSync(join(work, 'm.bin'));
    damaged[64 + 2 * 32 + 5] ^= 0x40;
    writeFileSync(join(work, 'damaged.bin'), damaged);
    expectOneLineError(await cli('update', '--port', pty.path, 'mfg_nvs', '--bin', 'damaged.bin'), 2, /damaged\.bin: damaged NVS image: page 0 entry 1: data CRC mismatch/);
    expectOneLineError(await cli('update', '--port', pty.path, 'mfg_nvs', 'cert', 'x.crt'), 2, /written whole/);
    expectOneLineError(await cli('update', '--port', pty.path, 'client_cert', '--restart', '--from', rawData), 2, /--restart is for whole-partition/);
    expect(emulator.readPartition('mfg_nvs').equals(before)).toBe(true);
  }, 120_000);
});
