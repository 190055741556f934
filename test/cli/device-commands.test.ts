/**
 * End to end: the built CLI, as a separate process, talks through real serialport to an emulated
 * module on a pseudo-terminal (the emulator lives in this test process, so its flash can be checked).
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EspAtEmulator, servePty } from '../../mock-device/index.js';
import { ensureBuilt, expectOneLineError, jsonLines, runCliAsync } from './harness.js';
import { atpkiVectors, repoRoot } from '../pki/paths.js';

const clientCertBin = atpkiVectors().find((v) => v.name === 'client_cert')!.expected;

let work: string;
let emulator: EspAtEmulator;
let pty: { path: string; close(): Promise<void> };

beforeAll(() => {
  ensureBuilt();
  work = mkdtempSync(join(tmpdir(), 'at-pki-cli-'));
  writeFileSync(join(work, 'client_cert.bin'), clientCertBin);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

beforeEach(async () => {
  emulator = new EspAtEmulator({ chip: 'esp32c3', fill: 'garbage', seed: 11 });
  pty = await servePty(emulator);
});
afterEach(async () => {
  await pty.close();
  emulator.dispose();
});

const cli = (...args: string[]) => runCliAsync(args, { cwd: work });

describe('at-pki update over a pseudo-terminal', () => {
  it('leaves exactly the bin followed by 0xFF in a garbage-filled partition; a second run writes nothing and says what it checked', async () => {
    const first = await cli('update', '--port', pty.path, 'client_cert', '--bin', 'client_cert.bin');
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/wrote the 2344-byte bin \(2 items\) to client_cert.*verified/);
    const partition = emulator.readPartition('client_cert');
    expect(partition.subarray(0, clientCertBin.length)).toEqual(clientCertBin);
    expect(partition.subarray(clientCertBin.length).every((b) => b === 0xff)).toBe(true);

    emulator.resetStats();
    const second = await cli('update', '--port', pty.path, 'client_cert', '--bin', 'client_cert.bin');
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/already holds/);
    // At 115200 the sector after the bin is erased rather than read (45 ms against 355 ms): the
    // report says how the whole partition was checked.
    expect(second.stdout).toMatch(/whole partition checked: read 0x0–0xfff; erased 0x1000–0x1fff/);
    expect(emulator.stats.flashBytesWritten).toBe(0);
  });

  it('reports exactly what it did: every sector erased, every byte read back', async () => {
    const run = await cli('update', '--port', pty.path, 'client_cert', '--bin', 'client_cert.bin');
    expect(run.code).toBe(0);
    // Garbage in both sectors: both erased (one command); the bin's whole sector is read back.
    expect(emulator.stats.flashBytesErased).toBe(2 * 4096);
    expect(run.stdout).toMatch(/: 2 sector\(s\) erased, 2344 bytes written; verified by reading back 4096 bytes; whole partition checked: read back 0x0–0xfff; erased 0x1000–0x1fff in /);
  });

  it('--force --json: erase, write and verify events each in one run, in order', async () => {
    const run = await cli('update', '--port', pty.path, 'client_cert', '--bin', 'client_cert.bin', '--force', '--json');
    expect(run.code).toBe(0);
    const phases = jsonLines(run).filter((e) => e.type === 'progress').map((e) => e.phase as string);
    expect(phases.filter((phase, i) => phase !== phases[i - 1])).toEqual(['erase', 'write', 'verify']);
  });

  it('refuses a partition that holds no credentials unless --any-partition, leaving it untouched', async () => {
    const before = emulator.flashImage();
    for (const label of ['fatfs', 'factory_param', 'ble_data']) {
      expectOneLineError(
        await cli('update', '--port', pty.path, label, '--bin', 'client_cert.bin'),
        2,
        new RegExp(`^at-pki: ${label} is not a credential partition \\(type 0x[0-9a-f]+, subtype \\d+\\): .*--any-partition overrides.* \\[module unchanged\\]$`),
      );
    }
    expect(emulator.flashImage().equals(before)).toBe(true);
    const forced = await cli('update', '--port', pty.path, 'fatfs', '--bin', 'client_cert.bin', '--any-partition');
    expect(forced.code, forced.stderr).toBe(0);
    expect(emulator.readPartition('fatfs').subarray(0, clientCertBin.length)).toEqual(clientCertBin);
  });

  it('--json prints begin, progress and end events', async () => {
    const run = await cli('update', '--port', pty.path, 'client_cert', '--bin', 'client_cert.bin', '--json');
    expect(run.code).toBe(0);
    const events = jsonLines(run);
    expect(events[0]).toMatchObject({ type: 'begin', operation: 'update', partition: 'client_cert' });
    expect(events.at(-1)).toMatchObject({ type: 'end', ok: true, result: { verified: true, unchanged: false, length: 2344 } });
    const phases = [...new Set(events.filter((e) => e.type === 'progress').map((e) => e.phase))];
    expect(phases).toEqual(['compare', 'erase', 'write', 'verify']);
    const lastWrite = events.filter((e) => e.type === 'progress' && e.phase === 'write').at(-1)!;
    expect(lastWrite.done).toBe(lastWrite.total);
  });

  it('builds the bin from <type> <file> pairs and from a raw_data folder', async () => {
    const vector = atpkiVectors().find((v) => v.name === 'client_key')!;
    const pairs = vector.pairs.flatMap((p) => [p.type, join(vector.dir, p.file)]);
    expect((await cli('update', '--port', pty.path, 'client_key', ...pairs)).code).toBe(0);
    expect(emulator.readPartition('client_key').subarray(0, vector.expected.length)).toEqual(vector.expected);

    const fromDir = await cli('update', '--port', pty.path, 'client_key', '--from', join(repoRoot, 'examples', 'raw_data'));
    // examples/raw_data holds the same two example keys: the module already has them.
    expect(fromDir.code).toBe(0);
    expect(fromDir.stdout).toMatch(/already holds/);
  });

  it('without a source takes the files of ./raw_data/<partition>/ (the ESP-AT build convention)', async () => {
    const vector = atpkiVectors().find((v) => v.name === 'client_ca')!;
    const raw = join(work, 'raw_data', 'client_ca');
    mkdirSync(raw, { recursive: true });
    for (const pair of vector.pairs) copyFileSync(join(vector.dir, pair.file), join(raw, pair.file));
    const run = await cli('update', '--port', pty.path, 'client_ca');
    expect(run.code).toBe(0);
    expect(emulator.readPartition('client_ca').subarray(0, vector.expected.length)).toEqual(vector.expected);
    rmSync(join(work, 'raw_data'), { recursive: true, force: true });
    expectOneLineError(await cli('update', '--port', pty.path, 'client_ca'), 2, /raw_data\/client_ca: no such folder/);
  });

  it('refuses an unknown partition and a bin too big for the partition, leaving flash untouched', async () => {
    const before = emulator.flashImage();
    expectOneLineError(await cli('update', '--port', pty.path, 'client_crt', '--bin', 'client_cert.bin'), 2, /no partition named "client_crt".*client_cert/);
    const big = Buffer.alloc(0x2000 + 8, 0x41);
    writeFileSync(join(work, 'big.bin'), big);
    expectOneLineError(await cli('write', '--port', pty.path, 'client_cert', 'big.bin'), 2, /do not fit in partition client_cert/);
    expect(emulator.flashImage().equals(before)).toBe(true);
  });
});

describe('partitions, read, write, erase', () => {
  it('lists the partition table', async () => {
    const run = await cli('partitions', '--port', pty.path, '--json');
    expect(run.code).toBe(0);
    const end = jsonLines(run).at(-1)!;
    expect(end.result.firmware.atVersion).toBe('2.4.0.0');
    expect(end.result.partitions).toEqual(emulator.partitions().map((p) => ({ label: p.label, type: p.type, subtype: p.subtype, address: p.offset, size: p.size })));
  });

  it('reads a whole partition and a range of it', async () => {
    const whole = await cli('read', '--port', pty.path, 'client_ca', '-o', 'ca.bin');
    expect(whole.code).toBe(0);
    expect(readFileSync(join(work, 'ca.bin'))).toEqual(emulator.readPartition('client_ca'));
    const part = await cli('read', '--port', pty.path, 'client_ca', '--offset', '0x1000', '--length', '100', '-o', 'ca-part.bin');
    expect(part.code).toBe(0);
    expect(readFileSync(join(work, 'ca-part.bin'))).toEqual(emulator.readPartition('client_ca').subarray(0x1000, 0x1100 - 156));
  });

  it('writes at an offset and keeps the rest of the touched sector', async () => {
    const before = emulator.readPartition('mqtt_ca');
    writeFileSync(join(work, 'patch.bin'), Buffer.from('hello world!'));
    const run = await cli('write', '--port', pty.path, 'mqtt_ca', 'patch.bin', '--offset', '100');
    expect(run.code).toBe(0);
    const after = emulator.readPartition('mqtt_ca');
    expect(after.subarray(100, 112).toString()).toBe('hello world!');
    expect(after.subarray(0, 100)).toEqual(before.subarray(0, 100));
    expect(after.subarray(112)).toEqual(before.subarray(112));
  });

  it('says where it wrote: the offset given, not the start of its sector', async () => {
    writeFileSync(join(work, 'patch.bin'), Buffer.alloc(64, 0x5a));
    const run = await cli('write', '--port', pty.path, 'mqtt_ca', 'patch.bin', '--offset', '0x1800');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^wrote 64 bytes of patch\.bin to mqtt_ca at offset 0x1800 \(6144\): 1 sector\(s\) erased, \d+ bytes written; verified by reading back 4096 bytes\n$/);
    expect(emulator.readPartition('mqtt_ca').subarray(0x1800, 0x1840)).toEqual(Buffer.alloc(64, 0x5a));
  });

  it('erases a partition', async () => {
    const run = await cli('erase', '--port', pty.path, 'wpa2_ca');
    expect(run.code).toBe(0);
    expect(emulator.readPartition('wpa2_ca').every((b) => b === 0xff)).toBe(true);
  });

  it('refuses bad offsets before touching the module', async () => {
    const before = emulator.flashImage();
    writeFileSync(join(work, 'four.bin'), Buffer.from('abcd'));
    expectOneLineError(await cli('write', '--port', pty.path, 'mqtt_ca', 'four.bin', '--offset', '2'), 2, /not a multiple of 4/);
    expectOneLineError(await cli('write', '--port', pty.path, 'mqtt_ca', 'four.bin', '--offset', 'ten'), 2, /whole number/);
    expectOneLineError(await cli('read', '--port', pty.path, 'mqtt_ca', '--offset', '8000', '--length', '1000', '-o', 'x.bin'), 2, /do not fit/);
    expect(emulator.flashImage().equals(before)).toBe(true);
  });
});

describe('ports that cannot be used', () => {
  it('a port that does not exist', async () => {
    expectOneLineError(await cli('partitions', '--port', '/dev/ttyUSB99'), 2, /no such port \/dev\/ttyUSB99/);
  });

  it('a port without the --port option', async () => {
    expectOneLineError(await runCliAsync(['partitions'], { cwd: work, env: { AT_PKI_PORT: undefined } }), 2, /--port/);
  });

  it('a device that answers nothing', async () => {
    await withFakeModule(() => {}, async (url) => {
      const run = await cli('partitions', '--port', url, '--timeout', '300');
      expectOneLineError(run, 1, /does not answer AT/);
    });
  });

  it('a device that answers garbage', async () => {
    await withFakeModule((socket) => socket.write(Buffer.from('\x00\xfe garbage \r\n\x13\x37 more \r\n')), async (url) => {
      const run = await cli('partitions', '--port', url, '--timeout', '300');
      expectOneLineError(run, 1, /does not answer AT/);
    });
  });
});

/** A TCP "module" that reacts to every chunk with `onData` (nothing, garbage...). */
async function withFakeModule(onData: (socket: Socket) => void, body: (url: string) => Promise<void>): Promise<void> {
  const server = createServer((socket) => socket.on('data', () => onData(socket)));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    await body(`tcp://127.0.0.1:${(server.address() as AddressInfo).port}`);
  } finally {
    server.close();
  }
}

describe('erase that does not answer OK', () => {
  it('says the partition may be partly erased', async () => {
    const run = await cli('erase', '--port', 'mock://esp32c3?faults=error~SYSFLASH=0@1', 'client_ca');
    expectOneLineError(run, 1, /ERROR.* \[module modified: client_ca may be partly erased \(the erase did not answer OK\); run erase again\]$/);
  });
});

describe('a failure during the comparison read', () => {
  it('says the module is unchanged (nothing was erased or written before it)', async () => {
    const state = join(work, 'compare-state.bin');
    const first = Buffer.from(clientCertBin);
    writeFileSync(join(work, 'first.bin'), first);
    // Same first bytes, different last item byte: the comparison goes on past the first read.
    const second = Buffer.from(clientCertBin);
    second[second.length - 10] ^= 0x01;
    writeFileSync(join(work, 'second.bin'), second);
    expect((await cli('update', '--port', `mock://esp32c3?state=${state}`, 'client_cert', '--bin', 'first.bin', '--no-validate')).code).toBe(0);
    // The second read of the run (the rest of the bin's range) is refused (a silent one would be retried).
    const run = await cli('update', '--port', `mock://esp32c3?state=${state}&faults=error~SYSFLASH=2@2`, 'client_cert', '--bin', 'second.bin', '--no-validate', '--timeout', '500');
    expectOneLineError(run, 1, /AT\+SYSFLASH.* \[module unchanged: nothing was erased or written on client_cert\]$/);
  });
});
