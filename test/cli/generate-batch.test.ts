/** `at-pki generate --batch DIR -o OUTDIR` (src/cli/generate-batch.ts), through the built CLI. */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../pki/paths.js';
import { endRecord, ensureBuilt, expectOneLineError, runCli } from './harness.js';

const rawData = join(repoRoot, 'examples/raw_data');
const PARTITIONS = ['client_ca', 'client_cert', 'client_key'];
let work: string;
let sets: string;

beforeAll(() => {
  ensureBuilt();
  work = mkdtempSync(join(tmpdir(), 'at-pki-batch-'));
  sets = join(work, 'sets');
  for (const set of ['dev-001', 'dev-002', 'dev-003']) cpSync(rawData, join(sets, set), { recursive: true });
  mkdirSync(join(sets, 'dev-002', 'ble_data'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A copy of the good sets with one file replaced. */
function setsWith(file: string, content: string): string {
  const dir = mkdtempSync(join(work, 'variant-'));
  cpSync(sets, dir, { recursive: true });
  writeFileSync(join(dir, file), content);
  return dir;
}

describe('generate --batch', () => {
  it('writes every set’s bins, byte for byte what generate --from writes, keys readable by the owner only', () => {
    const out = join(work, 'out');
    const run = runCli(['generate', '--batch', sets, '-o', out]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^wrote 9 bins for 3 sets into .*\(client_ca, client_cert, client_key\)/);
    expect(run.stderr).toContain('ignored ble_data (in 1 set)');
    expect(readdirSync(out).sort()).toEqual(['dev-001', 'dev-002', 'dev-003']);
    for (const partition of PARTITIONS) {
      const single = join(work, `${partition}.single.bin`);
      expect(runCli(['generate', '--from', rawData, partition, '-o', single]).code).toBe(0);
      for (const set of ['dev-001', 'dev-002', 'dev-003']) {
        const bin = join(out, set, `${partition}.bin`);
        expect(readFileSync(bin).equals(readFileSync(single)), bin).toBe(true);
        expect(statSync(bin).mode & 0o777).toBe(partition === 'client_key' ? 0o600 : 0o644);
      }
    }
  });

  it('--json: progress in sets, then the end record with every bin', () => {
    const out = join(work, 'out-json');
    const run = runCli(['generate', '--batch', sets, '-o', out, '--json']);
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, any>);
    expect(lines.at(-2)).toEqual({ type: 'progress', phase: 'generate', done: 3, total: 3, unit: 'sets' });
    const { result } = endRecord(run);
    expect(result.count).toEqual({ sets: 3, bins: 9, bytes: 3 * (2344 + 2344 + 3368) });
    expect(result.validated).toBe(true);
    expect(result.sets[1]).toMatchObject({ set: 'dev-002', ignored: ['ble_data'] });
    expect(result.sets[0].bins.map((bin: { partition: string; size: number }) => [bin.partition, bin.size])).toEqual([
      ['client_ca', 2344],
      ['client_cert', 2344],
      ['client_key', 3368],
    ]);
  });

  it('a bad set: one line naming the set and the file, exit 2, nothing written (an existing output folder unchanged)', () => {
    const bad = setsWith('dev-002/client_cert/client_cert_01.crt', 'not a certificate\n');
    const out = join(work, 'out-bad');
    mkdirSync(join(out, 'dev-001'), { recursive: true });
    writeFileSync(join(out, 'dev-001', 'client_cert.bin'), 'older bin');
    const run = runCli(['generate', '--batch', bad, '-o', out]);
    expectOneLineError(run, 2, /^at-pki: set dev-002: .*dev-002\/client_cert\/client_cert_01\.crt/);
    expect(readdirSync(out)).toEqual(['dev-001']);
    expect(readdirSync(join(out, 'dev-001'))).toEqual(['client_cert.bin']);
    expect(readFileSync(join(out, 'dev-001', 'client_cert.bin'), 'utf8')).toBe('older bin');
    expect(existsSync(join(work, 'out-bad-never'))).toBe(false);
    // A new output folder is not even created.
    expectOneLineError(runCli(['generate', '--batch', bad, '-o', join(work, 'out-bad-never')]), 2, 'set dev-002');
    expect(existsSync(join(work, 'out-bad-never'))).toBe(false);
  });

  it('an item validation refuses (a certificate in a key folder) fails like generate; --no-validate writes it anyway', () => {
    const swapped = setsWith('dev-003/client_key/client_key_00.key', readFileSync(join(rawData, 'client_cert/client_cert_00.crt'), 'utf8'));
    const out = join(work, 'out-swapped');
    const run = runCli(['generate', '--batch', swapped, '-o', out]);
    expectOneLineError(run, 2, /^at-pki: set dev-003: validation failed: key #0 \(.*dev-003\/client_key\/client_key_00\.key\)/);
    expect(existsSync(out)).toBe(false);
    const forced = runCli(['generate', '--batch', swapped, '-o', out, '--no-validate']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stdout).toContain('(not validated)');
    expect(readdirSync(out)).toHaveLength(3);
  });

  it('refuses a folder of partition folders (one raw_data set), an empty folder, a set with an empty partition folder, a bin over --partition-size', () => {
    expectOneLineError(runCli(['generate', '--batch', rawData, '-o', join(work, 'x')]), 2, /set client_ca: no partition folders .*Use --from/);
    const empty = mkdtempSync(join(work, 'empty-'));
    expectOneLineError(runCli(['generate', '--batch', empty, '-o', join(work, 'x')]), 2, 'no set folders in');
    expectOneLineError(runCli(['generate', '--batch', join(work, 'missing'), '-o', join(work, 'x')]), 2, 'no such folder');
    const hollow = mkdtempSync(join(work, 'hollow-'));
    cpSync(sets, hollow, { recursive: true });
    rmSync(join(hollow, 'dev-001', 'client_ca'), { recursive: true });
    mkdirSync(join(hollow, 'dev-001', 'client_ca'));
    expectOneLineError(runCli(['generate', '--batch', hollow, '-o', join(work, 'x')]), 2, /set dev-001: no ca files in .*dev-001\/client_ca/);
    expectOneLineError(runCli(['generate', '--batch', sets, '-o', join(work, 'x'), '--partition-size', '3000']), 2, /set dev-001: client_key\.bin would be 3368 bytes, 368 more than --partition-size 3000/);
    expect(existsSync(join(work, 'x'))).toBe(false);
  });

  it('usage errors: items, --from, another format, no -o, a partition name as --partition-size', () => {
    expectOneLineError(runCli(['generate', '--batch', sets, '-o', join(work, 'x'), 'cert', 'a.crt']), 2, '--batch takes no <type> <file> pairs');
    expectOneLineError(runCli(['generate', '--batch', sets, '-o', join(work, 'x'), '--from', rawData]), 2, '--from cannot be used with it');
    expectOneLineError(runCli(['generate', '--batch', sets, '-o', join(work, 'x'), '--format', 'esp-secure-cert']), 2, '--format esp-secure-cert cannot be used with it');
    expectOneLineError(runCli(['generate', '--batch', sets]), 2, '--batch needs -o <outdir>');
    expectOneLineError(runCli(['generate', '--batch', sets, '-o', join(work, 'x'), '--partition-size', 'client_cert']), 2, 'takes a size in bytes');
    expect(existsSync(join(work, 'x'))).toBe(false);
  });
});
