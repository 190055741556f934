/**
 * `at-pki verify` (issue 12, finding 9): the built CLI against an emulated module on a pty. Changes
 * nothing; exit 0 when the module holds exactly what update would write, 1 with where it differs,
 * 2 on bad input. The whole partition counts: stale bytes after the bin are a difference.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EspAtEmulator, servePty } from '../../mock-device/index.js';
import { ensureBuilt, expectOneLineError, jsonLines, runCliAsync } from './harness.js';
import { atpkiVectors } from '../pki/paths.js';

const clientCertBin = atpkiVectors().find((v) => v.name === 'client_cert')!.expected;

let work: string;
let emulator: EspAtEmulator;
let pty: { path: string; close(): Promise<void> };

beforeAll(() => {
  ensureBuilt();
  work = mkdtempSync(join(tmpdir(), 'at-pki-verify-'));
  writeFileSync(join(work, 'client_cert.bin'), clientCertBin);
  writeFileSync(join(work, 'junk.bin'), Buffer.from('not a bin'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

beforeEach(async () => {
  emulator = new EspAtEmulator({ chip: 'esp32c3', fill: 'erased' });
  const image = Buffer.alloc(emulator.readPartition('client_cert').length, 0xff);
  image.set(clientCertBin);
  emulator.writeRaw('client_cert', 0, image);
  pty = await servePty(emulator);
});
afterEach(async () => {
  await pty.close();
  emulator.dispose();
});

const cli = (...args: string[]) => runCliAsync(args, { cwd: work });

describe('at-pki verify', () => {
  it('exit 0 when the whole partition is the bin followed by 0xFF; nothing erased or written', async () => {
    emulator.resetStats();
    const run = await cli('verify', '--port', pty.path, 'client_cert', '--bin', 'client_cert.bin', '--json');
    expect(run.code).toBe(0);
    expect(jsonLines(run).at(-1)).toMatchObject({ type: 'end', ok: true, result: { match: true, storage: 'partitions', checkedBytes: 8192, differences: [] } });
    expect(emulator.stats.flashBytesWritten + emulator.stats.flashBytesErased).toBe(0);
  });

  it('exit 1 naming the offset when stale bytes follow the bin (update would leave 0xFF there)', async () => {
    emulator.writeRaw('client_cert', 4096 + 16, Buffer.alloc(4, 0));
    emulator.resetStats();
    const run = await cli('verify', '--port', pty.path, 'client_cert', '--bin', 'client_cert.bin');
    expectOneLineError(run, 1, /client_cert does not hold what update would write: offset 0x1010 \(sector 0x1000\): read 0x00, expected 0xff .*\[module unchanged/);
    expect(emulator.stats.flashBytesWritten + emulator.stats.flashBytesErased).toBe(0);
  });

  it('exit 2 on bad input, module untouched', async () => {
    const before = emulator.stats.commands;
    const run = await cli('verify', '--port', pty.path, 'client_cert', '--bin', 'junk.bin');
    expect(run.code).toBe(2);
    expect(emulator.stats.commands).toBe(before);
  });
});
