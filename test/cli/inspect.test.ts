import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePkiBin } from '../../src/pki/bin-format.js';
import { atpkiVectors, fixture } from '../pki/paths.js';
import { endRecord, ensureBuilt, expectOneLineError, runCli } from './harness.js';

const vectors = atpkiVectors();
const clientCert = vectors.find((vector) => vector.name === 'client_cert')!;
const mixed = vectors.find((vector) => vector.name === 'mixed_types')!;
let work: string;

beforeAll(async () => {
  ensureBuilt();
  work = await mkdtemp(join(tmpdir(), 'at-pki-inspect-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function file(name: string, bytes: Uint8Array): Promise<string> {
  const path = join(work, name);
  await writeFile(path, bytes);
  return path;
}

describe('inspect', () => {
  it('shows a table of the items with subject, issuer, validity, key and fingerprint', () => {
    const run = runCli(['inspect', join(clientCert.dir, 'expected.bin')]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/expected\.bin: ESP-AT PKI bin \(AtPKI\.py format\), 2 items, 2344 bytes\n/);
    expect(run.stdout).toMatch(/^TYPE\s+ID\s+OFFSET\s+LENGTH\s+CONTENT$/m);
    expect(run.stdout).toMatch(/^cert\s+0\s+8\s+1164\s+PEM certificate: C=C2, O=ESP C2, CN=ESP Root CA C2$/m);
    expect(run.stdout).toMatch(/^cert\s+1\s+1176\s+1164\s/m);
    expect(run.stdout).toContain('issuer       C=C1, O=ESP C1, CN=ESP Root CA C1');
    expect(run.stdout).toContain('valid        2019-06-21T08:00:23Z to 2029-06-18T08:00:23Z');
    expect(run.stdout).toContain('key          RSA 2048');
    expect(run.stdout).toContain('fingerprint  SHA-256 6B:A0:A5:36:C6:D7:95:0A:9E:48:74:87:A4:7C:CC:E8:9A:7B:1D:6C:99:35:EA:32:14:A4:86:FC:3C:B5:F5:6C');
  });

  it('prints the report as JSON with --json', () => {
    const run = runCli(['inspect', '--json', join(clientCert.dir, 'expected.bin')]);
    expect(run.code).toBe(0);
    const end = endRecord(run);
    expect(end).toMatchObject({ type: 'end', ok: true, result: { format: 'atpki', binLength: 2344, trailingBytes: 0 } });
    expect(end.result.items.map((item: { type: string; id: number; offset: number }) => [item.type, item.id, item.offset])).toEqual([
      ['cert', 0, 8],
      ['cert', 1, 1176],
    ]);
  });

  it('accepts a whole partition read back (bin + 0xFF fill)', async () => {
    const path = await file('readback.bin', Buffer.concat([clientCert.expected, Buffer.alloc(8192 - clientCert.expected.length, 0xff)]));
    const run = runCli(['inspect', path]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('2 items, 2344 bytes, followed by 5848 bytes of fill');
    expect(run.stdout).toContain('No problems found.');
  });

  it('never shows key material, only the public key fingerprint', () => {
    const keys = vectors.find((vector) => vector.name === 'client_key')!;
    const run = runCli(['inspect', join(keys.dir, 'expected.bin')]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/key #0 at offset 8: PEM private key \(pkcs1\)\n {2}key {10}RSA 2048\n {2}public key {3}SHA-256 [0-9A-F:]{95}\n/);
    expect(run.stdout).not.toContain('MII');
  });

  it('exits 2 on validation errors, after the report', () => {
    const run = runCli(['inspect', join(mixed.dir, 'expected.bin')]);
    expect(run.stdout).toMatch(/Errors \(1\):\n {2}cert #0: its signature does not verify/);
    expectOneLineError(run, 2, /expected\.bin: cert #0: its signature does not verify/);
  });

  it('puts the report in the JSON error details on validation errors', () => {
    const run = runCli(['inspect', '--json', join(mixed.dir, 'expected.bin')]);
    expect(run.code).toBe(2);
    expect(run.stdout.trim().split('\n')).toHaveLength(1);
    expect(endRecord(run)).toMatchObject({ ok: false, error: { code: 'BAD_INPUT', details: { report: { validation: { errors: [{ code: 'BAD_SIGNATURE' }] } } } } });
  });

  it('lists warnings (padding, IDs, validity) as findings', async () => {
    const bin = encodePkiBin([{ type: 'cert', content: fixture('expired.crt') }]);
    bin[9] = 3; // id 3 instead of 0
    const run = runCli(['inspect', await file('warn.bin', bin)]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/Warnings \(2\):\n {2}item #0 at offset 8 .*cert id 3, expected 0.*\n {2}cert #0: the certificate expired on 2001-01-01T00:00:00Z/);
  });

  it.each<[string, () => Buffer, RegExp]>([
    ['a truncated bin', () => clientCert.expected.subarray(0, 1000), /trunc\.bin: header length 2336 .* \(truncated\) at offset 1000 \(0x3e8\)$/],
    ['a bad item type', () => Buffer.concat([clientCert.expected.subarray(0, 8), Buffer.from([7]), clientCert.expected.subarray(9)]), /: item #0: unknown type 0x07 .* at offset 8 \(0x8\)$/],
    ['erased flash', () => Buffer.alloc(8192, 0xff), /no PKI data, all 8192 bytes are 0xFF \(erased flash\)/],
    ['a text file', () => Buffer.from('hello world\n'), /not an ESP-AT PKI bin: bad magic at offset 0 \(starts 68 65 6c 6c/],
    ['an empty file', () => Buffer.alloc(0), /is empty$/],
  ])('exits 2 with one line for %s', async (_name, bytes, message) => {
    const run = runCli(['inspect', await file('trunc.bin', bytes())]);
    expectOneLineError(run, 2, message);
    expect(run.stdout).toBe('');
  });

  it('exits 2 for a missing file and prints the JSON error record with --json', () => {
    const run = runCli(['inspect', '--json', join(work, 'nope.bin')]);
    expectOneLineError(run, 2, /cannot read .*nope\.bin: no such file/);
    expect(endRecord(run)).toMatchObject({ type: 'end', ok: false, error: { code: 'BAD_INPUT', details: { errno: 'ENOENT' } } });
  });
});
