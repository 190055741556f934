/** `update esp_secure_cert --bin` end to end, against an emulated module whose table has that partition. */
import { writeFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EspAtEmulator, servePty } from '../../mock-device/index.js';
import { repoRoot } from '../pki/paths.js';
import { ensureBuilt, expectOneLineError, runCliAsync } from './harness.js';

const image = readFileSync(join(repoRoot, 'test/vectors/esp_secure_cert/tlv_ec_p256_plain/output/esp_secure_cert.bin'));
const clientCertBin = readFileSync(join(repoRoot, 'test/vectors/atpki/client_cert/expected.bin'));
let work: string;
let emulator: EspAtEmulator;
let pty: { path: string; close(): Promise<void> };

beforeAll(() => {
  ensureBuilt();
  work = mkdtempSync(join(tmpdir(), 'at-pki-esc-'));
  writeFileSync(join(work, 'esc.bin'), image);
  const damaged = Buffer.from(image);
  damaged[40] = damaged[40]! ^ 0xff;
  writeFileSync(join(work, 'damaged.bin'), damaged);
  writeFileSync(join(work, 'client_cert.bin'), clientCertBin);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

beforeEach(async () => {
  emulator = new EspAtEmulator({
    chip: 'esp32c3',
    fill: 'garbage',
    extraPartitions: [{ label: 'esp_secure_cert', type: 0x3f, subtype: 0, offset: 0xd000, size: 0x2000 }],
  });
  pty = await servePty(emulator);
});
afterEach(async () => {
  await pty.close();
  emulator.dispose();
});

const cli = (...args: string[]) => runCliAsync(args, { cwd: work });

describe('update esp_secure_cert', () => {
  it('writes the image followed by 0xFF, verified; a second run writes nothing', async () => {
    const run = await cli('update', '--port', pty.path, 'esp_secure_cert', '--bin', 'esc.bin');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const partition = emulator.readPartition('esp_secure_cert');
    expect(partition.subarray(0, image.length)).toEqual(image);
    expect(partition.subarray(image.length).every((b) => b === 0xff)).toBe(true);
    const again = await cli('update', '--port', pty.path, 'esp_secure_cert', '--bin', 'esc.bin');
    expect(again.stdout).toMatch(/already holds/);
  });

  it('refuses a damaged image, a PKI bin for esp_secure_cert and an image for a PKI partition, untouched', async () => {
    const before = emulator.flashImage();
    expectOneLineError(await cli('update', '--port', pty.path, 'esp_secure_cert', '--bin', 'damaged.bin'), 2, /damaged esp_secure_cert image/);
    expectOneLineError(await cli('update', '--port', pty.path, 'esp_secure_cert', '--bin', 'client_cert.bin'), 2, /holds an esp_secure_cert image/);
    expectOneLineError(await cli('update', '--port', pty.path, 'client_cert', '--bin', 'esc.bin'), 2, /belongs in the esp_secure_cert partition/);
    expect(emulator.flashImage().equals(before)).toBe(true);
  });
});
