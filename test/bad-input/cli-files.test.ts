/**
 * Bad input files and arguments for `update` (and `generate` where no module is involved): each is
 * refused with one clear `at-pki: …` line and exit 2 before the port is even opened — the module,
 * a real pseudo-terminal with an emulator behind it, receives not a single byte.
 * Expired / not-yet-valid certificates are warnings, as the README documents.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePkiBin } from '../../src/pki/bin-format.js';
import { ensureBuilt } from '../cli/harness.js';
import { fixture, fixturesDir } from '../pki/paths.js';
import { cli, expectRefused, ptyDevice, workdir, type PtyDevice, type Workdir } from './support.js';

let dev: PtyDevice;
let work: Workdir;
const F = (name: string): string => `${fixturesDir}/${name}`;

/** Deterministic non-PEM, non-DER bytes. */
function garbage(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length);
  let x = seed;
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

beforeAll(async () => {
  ensureBuilt();
  work = workdir();
  dev = await ptyDevice();
  const bin = encodePkiBin([{ type: 'cert', content: fixture('device.crt') }]);
  const files: Record<string, Buffer | string> = {
    'garbage.crt': garbage(3000, 7),
    'empty.crt': Buffer.alloc(0),
    'oversize.crt': Buffer.alloc(70_000, 0x41),
    'malformed.pem': '-----BEGIN CERTIFICATE-----\nMIIB!!not*base64@@\n-----END CERTIFICATE-----\n',
    'truncated.pem': fixture('device.crt').subarray(0, 300),
    'unreadable.crt': fixture('device.crt'),
    'good.bin': bin,
    'truncated.bin': bin.subarray(0, bin.length >> 1),
    'erased.bin': Buffer.alloc(512, 0xff),
    'badmagic.bin': Buffer.concat([Buffer.from([0xf1, 0xf2]), bin.subarray(2)]),
    'random.bin': garbage(600, 9),
    'empty.bin': Buffer.alloc(0),
    'count-lies.bin': (() => {
      const b = Buffer.from(bin);
      b.writeUInt16LE(5, 2); // says 5 items, holds 1
      return b;
    })(),
  };
  for (const [name, content] of Object.entries(files)) writeFileSync(work.file(name), content);
  // Unreadable for anyone but its owner (root); the case runs as an unprivileged user.
  chmodSync(work.file('unreadable.crt'), 0o000);
  mkdirSync(work.file('a-directory.crt'));
  mkdirSync(work.file('raw/client_cert'), { recursive: true });
  // Files that never end or never start: nothing may block on them or read them whole.
  execFileSync('mkfifo', [work.file('fifo.crt'), work.file('fifo.bin')]);
  mkdirSync(work.file('fifo-raw/client_cert'), { recursive: true });
  execFileSync('mkfifo', [work.file('fifo-raw/client_cert/a.crt')]);
  writeFileSync(work.file('raw/client_cert/notes.txt'), 'not a certificate');
  // An esp_secure_cert image (made by the CLI itself) and a damaged copy.
  const made = await cli(['generate', '--format', 'esp-secure-cert', '--ca-cert', F('ca.crt'), '--device-cert', F('device.crt'), '--private-key', F('device.key'), '-o', 'esc.bin'], { cwd: work.path });
  expect(made.code, made.stderr).toBe(0);
  const damaged = Buffer.from(readFileSync(work.file('esc.bin')));
  damaged[40]! ^= 0x55;
  writeFileSync(work.file('esc-damaged.bin'), damaged);
  dev.reset();
});

afterAll(async () => {
  await dev?.close();
  work?.remove();
});

const nobody = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : undefined;

interface Case {
  name: string;
  args: (port: string) => string[];
  message: RegExp;
  code?: number;
  asNobody?: boolean;
}

const UPDATE = (port: string, ...rest: string[]): string[] => ['update', '--port', port, ...rest];

const cases: Case[] = [
  // Files that cannot be read
  { name: 'a credential file that does not exist', args: (p) => UPDATE(p, 'client_cert', 'cert', 'missing.crt'), message: /^at-pki: cannot read missing\.crt: no such file$/ },
  { name: 'an empty credential file', args: (p) => UPDATE(p, 'client_cert', 'cert', 'empty.crt'), message: /^at-pki: empty\.crt is empty$/ },
  { name: 'an unreadable credential file (permission denied)', args: (p) => UPDATE(p, 'client_cert', 'cert', 'unreadable.crt'), message: /^at-pki: cannot read unreadable\.crt: permission denied$/, asNobody: true },
  { name: 'a directory given as a credential file', args: (p) => UPDATE(p, 'client_cert', 'cert', 'a-directory.crt'), message: /a-directory\.crt is a directory, not a file/ },
  { name: 'an item over 65,535 bytes', args: (p) => UPDATE(p, 'client_cert', 'cert', 'oversize.crt'), message: /oversize\.crt is 70000 bytes; a PKI bin item holds at most 65535 bytes/ },
  // Special files: refused at once, never opened for long or read without end
  { name: 'generate from /dev/zero', args: () => ['generate', '-o', 'zero.bin', 'cert', '/dev/zero'], message: /^at-pki: \/dev\/zero is a character device, not a regular file$/ },
  { name: 'a credential file that is a FIFO', args: (p) => UPDATE(p, 'client_cert', 'cert', 'fifo.crt'), message: /^at-pki: fifo\.crt is a FIFO \(named pipe\), not a regular file$/ },
  { name: 'a --bin that is a FIFO', args: (p) => UPDATE(p, 'client_cert', '--bin', 'fifo.bin'), message: /^at-pki: fifo\.bin is a FIFO \(named pipe\), not a regular file$/ },
  { name: 'a raw_data folder holding a FIFO', args: (p) => UPDATE(p, 'client_cert', '--from', 'fifo-raw'), message: /fifo-raw\/client_cert\/a\.crt is a FIFO/ },
  { name: 'write: /dev/zero', args: (p) => ['write', '--port', p, 'fatfs', '/dev/zero'], message: /\/dev\/zero is a character device/ },
  { name: 'mfg write: a value file that is a FIFO', args: (p) => ['mfg', 'write', '--port', p, 'client_cert', 'client_cert.0', 'fifo.crt'], message: /fifo\.crt is a FIFO/ },
  { name: 'inspect: a FIFO', args: () => ['inspect', 'fifo.bin'], message: /fifo\.bin is a FIFO/ },
  { name: 'generate --format esp-secure-cert: /dev/zero as the device certificate', args: () => ['generate', '--format', 'esp-secure-cert', '--device-cert', '/dev/zero', '--private-key', F('device.key'), '-o', 'esc-zero.bin'], message: /\/dev\/zero is a character device/ },
  // Files that are not what they claim
  { name: 'binary garbage as a certificate', args: (p) => UPDATE(p, 'client_cert', 'cert', 'garbage.crt'), message: /validation failed: cert #0 \(garbage\.crt\): expected a certificate, found neither/ },
  { name: 'malformed PEM', args: (p) => UPDATE(p, 'client_cert', 'cert', 'malformed.pem'), message: /validation failed: cert #0 \(malformed\.pem\).*does not parse/ },
  { name: 'a PEM file cut short', args: (p) => UPDATE(p, 'client_cert', 'cert', 'truncated.pem'), message: /validation failed: cert #0 \(truncated\.pem\)/ },
  { name: 'a key that does not match its certificate', args: (p) => UPDATE(p, 'client_cert', 'cert', F('device.crt'), 'key', F('other.key')), message: /key #0 .*other\.key\): does not belong to cert #0 .*their public keys differ/ },
  { name: 'an encrypted private key', args: (p) => UPDATE(p, 'client_key', 'key', F('device-encrypted.key')), message: /the private key is encrypted and the module cannot decrypt it/ },
  { name: 'a certificate given as a key', args: (p) => UPDATE(p, 'client_key', 'key', F('device.crt')), message: /key #0 .*device\.crt\).*(expected a private key|is a cert)/ },
  { name: 'a key sent to a _cert partition', args: (p) => UPDATE(p, 'client_cert', 'key', F('device.key')), message: /client_cert holds cert items, but key #0 .* is a key/ },
  // Bin files that are not PKI bins
  { name: 'a --bin that is random bytes', args: (p) => UPDATE(p, 'client_cert', '--bin', 'random.bin'), message: /random\.bin: not an ESP-AT PKI bin: bad magic at offset 0/ },
  { name: 'a --bin with a wrong magic', args: (p) => UPDATE(p, 'client_cert', '--bin', 'badmagic.bin'), message: /badmagic\.bin: not an ESP-AT PKI bin: bad magic at offset 0 \(starts f1 f2/ },
  { name: 'a --bin cut short', args: (p) => UPDATE(p, 'client_cert', '--bin', 'truncated.bin'), message: /truncated\.bin: .*truncated/ },
  { name: 'a --bin whose item count lies', args: (p) => UPDATE(p, 'client_cert', '--bin', 'count-lies.bin'), message: /count-lies\.bin: / },
  { name: 'a --bin that is erased flash (all 0xFF)', args: (p) => UPDATE(p, 'client_cert', '--bin', 'erased.bin'), message: /erased\.bin: no PKI data, all 512 bytes are 0xFF/ },
  { name: 'an empty --bin', args: (p) => UPDATE(p, 'client_cert', '--bin', 'empty.bin'), message: /empty\.bin is empty/ },
  { name: 'a --bin that is a directory', args: (p) => UPDATE(p, 'client_cert', '--bin', 'a-directory.crt'), message: /a-directory\.crt is a directory, not a file/ },
  { name: 'an esp_secure_cert image for a PKI partition', args: (p) => UPDATE(p, 'client_cert', '--bin', 'esc.bin'), message: /this is an esp_secure_cert image; it belongs in the esp_secure_cert partition, not client_cert/ },
  { name: 'a PKI bin for the esp_secure_cert partition', args: (p) => UPDATE(p, 'esp_secure_cert', '--bin', 'good.bin'), message: /the esp_secure_cert partition holds an esp_secure_cert image/ },
  { name: 'a damaged esp_secure_cert image (CRC)', args: (p) => UPDATE(p, 'esp_secure_cert', '--bin', 'esc-damaged.bin'), message: /esc-damaged\.bin: damaged esp_secure_cert image: .*CRC mismatch/ },
  // Sources and arguments
  { name: 'a raw_data folder that does not exist', args: (p) => UPDATE(p, 'client_cert', '--from', 'nowhere'), message: /cannot read nowhere\/client_cert: no such folder/ },
  { name: 'a raw_data folder without certificate files', args: (p) => UPDATE(p, 'client_cert', '--from', 'raw'), message: /no cert files in raw\/client_cert/ },
  { name: 'an odd number of <type> <file> words', args: (p) => UPDATE(p, 'client_cert', 'cert', F('device.crt'), 'cert'), message: /odd number of arguments \(last: 'cert'\)/ },
  { name: 'an unknown item type', args: (p) => UPDATE(p, 'client_cert', 'certificate', F('device.crt')), message: /unknown item type 'certificate' \(expected ca, cert or key\)/ },
  { name: 'two sources at once', args: (p) => UPDATE(p, 'client_cert', '--bin', 'good.bin', 'cert', F('device.crt')), message: /give one source: --bin FILE, --from DIR, or <type> <file> pairs/ },
  { name: 'an unknown option', args: (p) => UPDATE(p, 'client_cert', '--bin', 'good.bin', '--frobnicate'), message: /unknown option '--frobnicate' \(see 'at-pki update --help'\)/ },
  { name: 'a baud rate that is not a number', args: (p) => UPDATE(p, '--baud', 'fast', 'client_cert', '--bin', 'good.bin'), message: /--baud must be a whole number/ },
  { name: 'a baud rate out of range', args: (p) => UPDATE(p, '--baud', '10', 'client_cert', '--bin', 'good.bin'), message: /--baud must be between 300 and 5000000, got 10/ },
  { name: 'a timeout too short to mean milliseconds', args: (p) => UPDATE(p, '--timeout', '5', 'client_cert', '--bin', 'good.bin'), message: /--timeout is in milliseconds and must be at least 100, got 5/ },
  { name: 'no --port at all', args: () => ['update', 'client_cert', '--bin', 'good.bin'], message: /required option '-p, --port <url>' not specified/ },
  { name: 'write: an empty file', args: (p) => ['write', '--port', p, 'client_cert', 'empty.bin'], message: /empty\.bin is empty: nothing to write/ },
  { name: 'read: a negative offset', args: (p) => ['read', '--port', p, 'client_cert', '--offset=-4', '-o', 'out.bin'], message: /--offset must be a whole number ≥ 0 \(decimal or 0x hex\), got '-4'/ },
  { name: 'read: an offset that is not a number', args: (p) => ['read', '--port', p, 'client_cert', '--offset', '1e3', '-o', 'out.bin'], message: /--offset must be a whole number ≥ 0 \(decimal or 0x hex\), got '1e3'/ },
  { name: 'read: a negative length', args: (p) => ['read', '--port', p, 'client_cert', '--length=-1', '-o', 'out.bin'], message: /--length must be a whole number ≥ 0/ },
  { name: 'write: an offset that is half hex', args: (p) => ['write', '--port', p, 'client_cert', 'good.bin', '--offset', '0x'], message: /--offset must be a whole number ≥ 0 \(decimal or 0x hex\), got '0x'/ },
];

describe.concurrent('refused before the port is opened: exit 2, one line, the module receives nothing', () => {
  for (const c of cases) {
    it(c.name, async () => {
      if (c.asNobody && !nobody && process.getuid?.() === 0) throw new Error('cannot drop privileges');
      const run = await cli(c.args(dev.path), { cwd: work.path, ...(c.asNobody && nobody ? { user: nobody } : {}) });
      expectRefused(run, c.message, c.code ?? 2);
    });
  }
});

describe('afterwards', () => {
  it('not a byte of any of those reached the module, and its flash is as before', () => {
    dev.expectNothingSent();
  });

  it('nothing was written from /dev/zero', () => {
    expect(existsSync(work.file('zero.bin'))).toBe(false);
    expect(existsSync(work.file('esc-zero.bin'))).toBe(false);
  });
});

describe('documented warnings, not errors', () => {
  it('an expired certificate: generate warns (one line) and writes the bin', async () => {
    const run = await cli(['generate', '-o', 'expired.bin', 'cert', F('expired.crt')], { cwd: work.path });
    expect(run.code).toBe(0);
    expect(run.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^at-pki: warning: cert #0 .*expired\.crt\): the certificate expired on 2001-01-01/)]);
    expect(readFileSync(work.file('expired.bin')).equals(encodePkiBin([{ type: 'cert', content: fixture('expired.crt') }]))).toBe(true);
  });

  it('a not-yet-valid certificate: the same', async () => {
    const run = await cli(['generate', '-o', 'future.bin', 'cert', F('future.crt')], { cwd: work.path });
    expect(run.code).toBe(0);
    expect(run.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^at-pki: warning: cert #0 .*future\.crt\): the certificate is not valid before 2200-01-01/)]);
  });

  it('an expired certificate through update: warned about, written and verified', async () => {
    dev.reset();
    const run = await cli(['update', '--port', dev.path, 'client_cert', 'cert', F('expired.crt')], { cwd: work.path });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/^at-pki: warning: .*expired on 2001-01-01/);
    const bin = encodePkiBin([{ type: 'cert', content: fixture('expired.crt') }]);
    expect(dev.emulator.readPartition('client_cert').subarray(0, bin.length).equals(bin)).toBe(true);
  });
});
