/**
 * Bad input that is only found out with the module connected (an unknown partition, a bin that does
 * not fit, ranges past the end), names that try to smuggle AT syntax in, and ports that cannot be
 * used. Each: one clear line with the documented exit code, and the module — an emulator behind a
 * real pseudo-terminal — got nothing but the connect-time queries: its flash is as before and none
 * of the bytes it received forms an injected command.
 */
import { writeFileSync } from 'node:fs';
import { SerialPort } from 'serialport';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { encodePkiBin } from '../../src/pki/bin-format.js';
import { ensureBuilt } from '../cli/harness.js';
import { fixture, fixturesDir } from '../pki/paths.js';
import { cli, expectOnlyLookedAt, expectRefused, ptyDevice, workdir, type PtyDevice, type Workdir } from './support.js';

let legacy: PtyDevice;
let v3: PtyDevice;
let work: Workdir;
const F = (name: string): string => `${fixturesDir}/${name}`;

beforeAll(async () => {
  ensureBuilt();
  work = workdir();
  legacy = await ptyDevice({ chip: 'esp32c3' });
  v3 = await ptyDevice({ chip: 'esp32c3', firmware: '3.2.0.0' });
  writeFileSync(work.file('good.bin'), encodePkiBin([{ type: 'cert', content: fixture('device.crt') }]));
  // A well-formed bin of 9,020 bytes: larger than the 8 KiB PKI partitions.
  writeFileSync(
    work.file('big.bin'),
    encodePkiBin([0, 1, 2].map((i) => ({ type: 'cert' as const, content: Buffer.alloc(3000, 0x41 + i) }))),
  );
  writeFileSync(work.file('four.bin'), Buffer.from('abcd'));
  writeFileSync(work.file('huge-value.crt'), `-----BEGIN CERTIFICATE-----\n${'A'.repeat(9000)}\n-----END CERTIFICATE-----\n`);
});

afterAll(async () => {
  await legacy?.close();
  await v3?.close();
  work?.remove();
});

beforeEach(() => {
  legacy.reset();
  v3.reset();
});

const run = (...args: string[]) => cli(args, { cwd: work.path });

describe('found out with the module connected: refused, nothing but the connect-time queries sent', () => {
  it('an unknown partition', async () => {
    expectRefused(await run('update', '--port', legacy.path, 'client_crt', '--bin', 'good.bin'), /the module has no partition named "client_crt"; it has: .*client_cert/);
    expectOnlyLookedAt(legacy);
  });

  it('a bin larger than the partition', async () => {
    expectRefused(await run('update', '--port', legacy.path, 'client_cert', '--bin', 'big.bin', '--no-validate'), /the bin \(9020 bytes\) does not fit in partition client_cert \(8192 bytes\) \[module unchanged\]/);
    expectOnlyLookedAt(legacy);
  });

  it('a PKI bin for a partition that holds no credentials (fatfs; the whole mfg_nvs on ESP-AT 3.x)', async () => {
    expectRefused(await run('update', '--port', legacy.path, 'fatfs', '--bin', 'good.bin'), /fatfs is not a credential partition .*--any-partition overrides/);
    expectOnlyLookedAt(legacy);
    // mfg_nvs as a whole takes an NVS image (update's NVS path), never a PKI bin.
    expectRefused(await run('update', '--port', v3.path, 'mfg_nvs', '--bin', 'good.bin'), /good\.bin: not an NVS partition image but ESP-AT PKI bin .*mfg_nvs takes a whole NVS image/);
    expectOnlyLookedAt(v3);
  });

  it('a raw write past the end of the partition', async () => {
    expectRefused(await run('write', '--port', legacy.path, 'client_cert', 'good.bin', '--offset', '0x1ffc'), /write: \d+ bytes at offset 8188 do not fit in partition client_cert \(8192 bytes\)/);
    expectOnlyLookedAt(legacy);
  });

  it('a raw write at an offset that is not a multiple of 4', async () => {
    expectRefused(await run('write', '--port', legacy.path, 'client_cert', 'four.bin', '--offset', '2'), /write: offset 2 is not a multiple of 4/);
    expectOnlyLookedAt(legacy);
  });

  it('a read starting past the end', async () => {
    expectRefused(await run('read', '--port', legacy.path, 'client_cert', '--offset', '0x3000', '-o', 'out.bin'), /read: .* at offset 12288 do not fit in partition client_cert \(8192 bytes\)/);
    expectOnlyLookedAt(legacy);
  });

  it('a read running past the end', async () => {
    expectRefused(await run('read', '--port', legacy.path, 'client_cert', '--offset', '0x1000', '--length', '0x1001', '-o', 'out.bin'), /read: 4097 bytes at offset 4096 do not fit/);
    expectOnlyLookedAt(legacy);
  });

  it('mfg commands on a legacy module', async () => {
    expectRefused(await run('mfg', 'list', '--port', legacy.path), /keeps credentials in partitions .*not in mfg_nvs/);
    expectOnlyLookedAt(legacy);
  });
});

/** Partition and key names that would change the AT command if they were sent as they are. */
const INJECTIONS: { name: string; label: string }[] = [
  { name: 'a double quote', label: 'client_cert"' },
  { name: 'a quote and more parameters', label: 'client_cert",0,4096' },
  { name: 'commas', label: 'client_cert,0,16' },
  { name: 'a backslash escape', label: 'client_cert\\",1' },
  { name: 'CR LF and a second command', label: 'client_key",0,4096\r\nAT+SYSFLASH=0,"client_cert' },
  { name: 'CR LF and AT+RST', label: 'x\r\nAT+RST\r\n' },
  { name: 'a tab and a DEL character', label: 'client\tcert\u007f' },
  { name: 'over 255 characters', label: 'c'.repeat(300) },
];

describe('partition names cannot inject AT syntax', () => {
  for (const { name, label } of INJECTIONS) {
    it(`erase with a partition name holding ${name}`, async () => {
      const result = await run('erase', '--port', legacy.path, label);
      expectRefused(result, /the module has no partition named/);
      expectOnlyLookedAt(legacy);
      // The name itself never reached the module.
      expect(legacy.received().toString('latin1').includes(label)).toBe(false);
    });
  }

  it('update and read with such names: the same', async () => {
    expectRefused(await run('update', '--port', legacy.path, 'client_cert",0,16\r\nAT+SYSFLASH=0,"client_key', '--bin', 'good.bin'), /no partition named/);
    expectRefused(await run('read', '--port', legacy.path, 'client_cert",0,16', '-o', 'out.bin'), /no partition named/);
    expectOnlyLookedAt(legacy);
  });
});

describe('mfg_nvs names (ESP-AT 3.x) cannot inject AT syntax either', () => {
  it('a namespace over 15 characters', async () => {
    expectRefused(await run('update', '--port', v3.path, 'client_cert_and_more', 'cert', F('device.crt')), /namespace name "client_cert_and_more" is 20 characters; NVS allows at most 15/);
    expectOnlyLookedAt(v3);
  });

  it('a namespace with quotes and a comma', async () => {
    expectRefused(await run('mfg', 'erase', '--port', v3.path, 'a","b'), /namespace name .* may only hold printable characters other than quotes, commas and backslashes/);
    expectOnlyLookedAt(v3);
  });

  it('a key with CR LF and AT+RST', async () => {
    expectRefused(await run('mfg', 'write', '--port', v3.path, 'client_cert', 'k\r\nAT+RST', 'good.bin'), /key name .* may only hold printable characters/);
    expectOnlyLookedAt(v3);
  });

  it('a key with a comma', async () => {
    expectRefused(await run('mfg', 'read', '--port', v3.path, 'client_cert', 'a,b', '-o', 'out.bin'), /key name "a,b" may only hold printable characters/);
    expectOnlyLookedAt(v3);
  });

  it('a value over 8,191 bytes', async () => {
    expectRefused(await run('update', '--port', v3.path, 'client_cert', 'cert', 'huge-value.crt', '--no-validate'), /AT\+SYSMFG stores 1 to 8191 bytes per key/);
    expectOnlyLookedAt(v3);
  });

  it('a name that is not a PKI namespace', async () => {
    expectRefused(await run('update', '--port', v3.path, 'factory_param', 'cert', F('device.crt')), /"factory_param" is not a PKI namespace of ESP-AT/);
    expectOnlyLookedAt(v3);
  });
});

describe('ports that cannot be used', () => {
  it('a port path that does not exist', async () => {
    expectRefused(await run('update', '--port', '/dev/ttyAtPkiNope0', 'client_cert', '--bin', 'good.bin'), /no such port \/dev\/ttyAtPkiNope0/);
  });

  it('a port that another process holds (locked)', async () => {
    const holder = new SerialPort({ path: legacy.path, baudRate: 115200, lock: true, autoOpen: false });
    await new Promise<void>((resolve, reject) => holder.open((error) => (error ? reject(error) : resolve())));
    try {
      expectRefused(await run('update', '--port', legacy.path, 'client_cert', '--bin', 'good.bin'), /busy|locked|in use/i);
      expect(legacy.received().length).toBe(0);
      legacy.expectUntouched();
    } finally {
      await new Promise<void>((resolve) => holder.close(() => resolve()));
    }
  });

  it('a serial server that refuses the connection', async () => {
    expectRefused(await run('update', '--port', 'tcp://127.0.0.1:1', 'client_cert', '--bin', 'good.bin'), /connection refused by 127\.0\.0\.1:1/);
  });

  it('an unknown port scheme', async () => {
    expectRefused(await run('update', '--port', 'foo://x', 'client_cert', '--bin', 'good.bin'), /unsupported port 'foo:\/\/x' \(unknown scheme 'foo:'\)/);
  });

  it('an emulator URL with an unknown option (a port error, exit 2 — not an internal error)', async () => {
    expectRefused(await run('update', '--port', 'mock://esp32c3?bogus=1', 'client_cert', '--bin', 'good.bin'), /^at-pki: mock:\/\/esp32c3\?bogus=1: unknown option "bogus"$/);
  });

  it('an emulator URL with a bad fault spec', async () => {
    expectRefused(await run('partitions', '--port', 'mock://esp32c3?faults=explode:1'), /unknown fault "explode"/);
  });
});

describe('a device that answers garbage or nothing (documented: exit 1, nothing written)', () => {
  it('nothing at all', async () => {
    const dead = await ptyDevice();
    // Powered, but whatever it says is lost on the way (a broken TX line).
    dead.emulator.setFaultInjector({ filterOutput: () => null });
    try {
      const result = await run('update', '--port', dead.path, '--timeout', '200', 'client_cert', '--bin', 'good.bin');
      expectRefused(result, /does not answer AT \(tried 3 times\)/, 1);
      dead.expectUntouched();
    } finally {
      await dead.close();
    }
  });

  it('garbage', async () => {
    const noisy = await ptyDevice();
    noisy.emulator.setFaultInjector({
      filterOutput: (chunk) => Buffer.from(chunk.map((b, i) => (b * 7 + i * 13 + 0x55) & 0xff)),
    });
    noisy.reset();
    try {
      const result = await run('update', '--port', noisy.path, '--timeout', '200', 'client_cert', '--bin', 'good.bin');
      expectRefused(result, /does not answer AT/, 1);
      noisy.expectUntouched();
    } finally {
      await noisy.close();
    }
  });
});
