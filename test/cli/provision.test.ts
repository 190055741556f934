/**
 * The factory station commands through the built CLI, each module an emulator on a pseudo-terminal:
 * `batch import` (validation, duplicate certificate refuses the whole import), `provision` (distinct
 * sets for distinct units on legacy and mfg_nvs modules, the same set again for the same unit,
 * exhausted batch refused with the module untouched, issued certificates that verify against the
 * CA), `ledger export` / `ledger show`, and no private-key bytes in the ledger file.
 */
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { servePty, type EspAtEmulator, type PtyServerHandle } from '../../mock-device/index.js';
import { encodePkiBin } from '../../src/pki/bin-format.js';
import { emulatedPort, removePorts, tempDir, type EmulatedPort } from '../station/support.js';
import { testFactory, writeBatch, writeSet, type TestBatch, type TestFactory } from '../station/provision/fixtures.js';
import { endRecord, ensureBuilt, expectOneLineError, jsonLines, runCliAsync } from './harness.js';

interface Unit {
  port: EmulatedPort;
  pty: PtyServerHandle;
  mac: string;
}

let dir: { path: string; remove(): void };
let ledger: string;
let factory: TestFactory;
let batch: TestBatch;
const units: Unit[] = [];
let issuedKeyPem = '';

async function unit(name: string, mac: string, options: Parameters<typeof emulatedPort>[1] = {}): Promise<Unit> {
  const port = emulatedPort(name, { mac, ...options });
  const pty = await servePty(port.emulator);
  const made = { port, pty, mac };
  units.push(made);
  return made;
}

function pkiPartition(emulator: EspAtEmulator, label: string, content: string): void {
  const bin = encodePkiBin([{ type: label.endsWith('_key') ? 'key' : label.endsWith('_ca') ? 'ca' : 'cert', content: Buffer.from(content) }]);
  const stored = emulator.readPartition(label);
  expect(stored.subarray(0, bin.length).equals(bin)).toBe(true);
  expect(stored.subarray(Math.ceil(bin.length / 4) * 4).every((b) => b === 0xff)).toBe(true);
}

function provision(u: Unit, ...extra: string[]): ReturnType<typeof runCliAsync> {
  return runCliAsync(['provision', '--port', u.pty.path, '--ledger', ledger, '--station', 'line-1', '--json', ...extra]);
}

beforeAll(async () => {
  ensureBuilt();
  dir = tempDir('prov');
  ledger = join(dir.path, 'ledger.sqlite');
  factory = await testFactory();
  batch = await writeBatch(factory, join(dir.path, 'lot1'), 3);
}, 60_000);

afterAll(async () => {
  for (const u of units) await u.pty.close();
  removePorts(units.map((u) => u.port));
  dir?.remove();
});

describe('at-pki batch import', () => {
  it('imports every set of the folder', async () => {
    const run = await runCliAsync(['batch', 'import', '--ledger', ledger, '--batch', 'lot1', batch.dir, '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(endRecord(run).result).toMatchObject({ batch: 'lot1', sets: 3 });
  });

  it('refuses the whole import when one certificate is already in the ledger: exit 2, nothing imported', async () => {
    const lot2 = await writeBatch(factory, join(dir.path, 'lot2'), 2);
    // A third set that repeats lot1's first certificate.
    writeSet(lot2.dir, 'set-dup', { ca: batch.sets[0]!.caChainPem, cert: batch.sets[0]!.certificatePem, key: batch.sets[0]!.privateKeyPem });
    const run = await runCliAsync(['batch', 'import', '--ledger', ledger, '--batch', 'lot2', lot2.dir]);
    expectOneLineError(run, 2, /already in the ledger as set set-000 of batch lot1; nothing imported/);
    const exported = await runCliAsync(['ledger', 'export', '--ledger', ledger, '--format', 'jsonl']);
    expect(exported.code).toBe(0);
    // lot2's fresh sets were not imported either: a unit can never get them.
    const retry = await runCliAsync(['batch', 'import', '--ledger', ledger, '--batch', 'lot2', lot2.dir]);
    expectOneLineError(retry, 2, 'nothing imported');
    rmSync(join(lot2.dir, 'set-dup'), { recursive: true });
    const clean = await runCliAsync(['batch', 'import', '--ledger', ledger, '--batch', 'lot2', lot2.dir, '--json']);
    expect(endRecord(clean).result).toMatchObject({ batch: 'lot2', sets: 2 });
  });

  it('refuses a set whose key does not match its certificate, naming the set', async () => {
    const bad = join(dir.path, 'bad');
    const sets = await writeBatch(factory, bad, 2);
    writeFileSync(join(bad, 'set-001', 'client_key', 'key.pem'), sets.sets[0]!.privateKeyPem);
    const run = await runCliAsync(['batch', 'import', '--ledger', ledger, '--batch', 'bad', bad]);
    expectOneLineError(run, 2, /set set-001 \(client\).*nothing imported/);
  });
});

describe('at-pki provision', () => {
  let legacy: Unit;
  let mfg: Unit;

  it('gives distinct units distinct sets, on a legacy and an mfg_nvs module', async () => {
    legacy = await unit('legacy', '24:0a:c4:00:00:01');
    mfg = await unit('mfg', '24:0a:c4:00:00:02', { firmware: '3.2.0.0', mfg: 'empty' });
    const first = await provision(legacy, '--batch', 'lot1');
    expect(first.code, first.stderr).toBe(0);
    const one = endRecord(first).result;
    expect(one).toMatchObject({ device: '24:0a:c4:00:00:01', set: 'set-000', batch: 'lot1', storage: 'partitions', alreadyVerified: false, unchanged: false });
    pkiPartition(legacy.port.emulator, 'client_cert', batch.sets[0]!.certificatePem);
    pkiPartition(legacy.port.emulator, 'client_key', batch.sets[0]!.privateKeyPem);
    pkiPartition(legacy.port.emulator, 'client_ca', batch.sets[0]!.caChainPem);

    const second = await provision(mfg, '--batch', 'lot1');
    expect(second.code, second.stderr).toBe(0);
    expect(endRecord(second).result).toMatchObject({ device: '24:0a:c4:00:00:02', set: 'set-001', storage: 'mfg_nvs' });
    expect(mfg.port.emulator.readMfg('client_cert', 'client_cert.0')!.bytes.toString()).toBe(batch.sets[1]!.certificatePem);
    expect(mfg.port.emulator.readMfg('client_key', 'client_key.0')!.bytes.toString()).toBe(batch.sets[1]!.privateKeyPem);
    expect(mfg.port.emulator.readMfg('client_ca', 'client_ca.0')!.bytes.toString()).toBe(batch.sets[1]!.caChainPem);
    // The --json stream: begin, progress/log events, end.
    expect(jsonLines(second)[0]).toMatchObject({ type: 'begin', operation: 'provision' });
  });

  it('gives the same unit the same set again, writing nothing', async () => {
    legacy.port.emulator.resetStats();
    const again = await provision(legacy, '--batch', 'lot1');
    expect(again.code, again.stderr).toBe(0);
    expect(endRecord(again).result).toMatchObject({ device: '24:0a:c4:00:00:01', set: 'set-000', alreadyVerified: true, unchanged: true, bytesWritten: 0 });
    expect(legacy.port.emulator.stats.flashBytesWritten + legacy.port.emulator.stats.flashBytesErased).toBe(0);
  });

  it('refuses a unit when the batch is exhausted: exit 1, module untouched', async () => {
    const third = await unit('third', '24:0a:c4:00:00:03');
    expect((await provision(third, '--batch', 'lot1')).code).toBe(0);
    const late = await unit('late', '24:0a:c4:00:00:04', { fill: 'garbage', seed: 5 });
    const before = Buffer.from(late.port.emulator.flashImage());
    late.port.emulator.resetStats();
    const run = await provision(late, '--batch', 'lot1');
    expectOneLineError(run, 1, /batch lot1 is exhausted: all 3 sets are assigned; nothing was written/);
    expect(endRecord(run)).toMatchObject({ ok: false, error: { code: 'BATCH_EXHAUSTED' } });
    expect(Buffer.from(late.port.emulator.flashImage()).equals(before)).toBe(true);
    const commands = Object.keys(late.port.emulator.stats.commandsByName);
    expect(commands.filter((name) => !['', 'E0', '+SYSLOG', '+GMR', '+SYSREG', '+CIPSTAMAC', '+SYSFLASH', '+SYSMFG'].includes(name))).toEqual([]);
    expect(late.port.emulator.stats.flashBytesWritten + late.port.emulator.stats.flashBytesErased).toBe(0);
  });

  it('issues a certificate per unit from the factory CA: CN from the MAC, verifies against the CA, key matches', async () => {
    const caCert = join(dir.path, 'ca.pem');
    const caKey = join(dir.path, 'ca.key');
    writeFileSync(caCert, factory.testCa.certPem);
    writeFileSync(caKey, factory.testCa.keyPem);
    const u = await unit('issued', '24:0a:c4:00:00:05', { firmware: '3.2.0.0', mfg: 'empty' });
    const run = await provision(u, '--issue', '--ca-cert', caCert, '--ca-key', caKey);
    expect(run.code, run.stderr).toBe(0);
    const result = endRecord(run).result;
    expect(result.device).toBe('24:0a:c4:00:00:05');
    expect(result).not.toHaveProperty('set');
    expect(result.subject).toBe('CN=240ac4000005');
    const certificate = new X509Certificate(u.port.emulator.readMfg('client_cert', 'client_cert.0')!.bytes);
    issuedKeyPem = u.port.emulator.readMfg('client_key', 'client_key.0')!.bytes.toString();
    const key = createPrivateKey(issuedKeyPem);
    const ca = new X509Certificate(factory.testCa.certPem);
    expect(certificate.verify(ca.publicKey)).toBe(true);
    expect(certificate.checkIssued(ca)).toBe(true);
    expect(certificate.subject).toBe('CN=240ac4000005');
    expect(certificate.checkPrivateKey(key)).toBe(true);
    expect(createPublicKey(key).export({ format: 'der', type: 'spki' })).toEqual(certificate.publicKey.export({ format: 'der', type: 'spki' }));
    expect(result.certSerial).toBe(certificate.serialNumber.toLowerCase().replace(/^0+/, ''));

    // The same unit again: reported as verified, nothing issued or written.
    u.port.emulator.resetStats();
    const again = await provision(u, '--issue', '--ca-cert', caCert, '--ca-key', caKey);
    expect(endRecord(again).result).toMatchObject({ alreadyVerified: true, certSerial: result.certSerial, bytesWritten: 0 });
    expect(u.port.emulator.stats.mfgWrites).toBe(0);
  });

  it('refuses bad usage before touching the module', async () => {
    const u = units[0]!;
    expectOneLineError(await provision(u), 2, /give --batch NAME/);
    expectOneLineError(await provision(u, '--batch', 'nope'), 2, /no batch "nope"/);
    expectOneLineError(await provision(u, '--issue', '--ca-cert', 'x.pem'), 2, /--issue needs --ca-cert FILE and --ca-key FILE/);
    expectOneLineError(await provision(u, '--batch', 'lot1', '--ca-key', 'k'), 2, /--ca-key goes with --issue/);
  });
});

describe('at-pki ledger', () => {
  it('exports one record per assignment as CSV and JSONL', async () => {
    const csv = await runCliAsync(['ledger', 'export', '--ledger', ledger]);
    expect(csv.code, csv.stderr).toBe(0);
    const lines = csv.stdout.trim().split('\n');
    expect(lines[0]).toBe('device,set,batch,certSerial,certSha256,subject,station,port,time,outcome');
    expect(lines).toHaveLength(5);
    const jsonl = await runCliAsync(['ledger', 'export', '--ledger', ledger, '--format', 'jsonl']);
    const records = jsonl.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, string>);
    expect(records.map((r) => [r.device, r.set, r.batch, r.outcome])).toEqual([
      ['24:0a:c4:00:00:01', 'set-000', 'lot1', 'verified'],
      ['24:0a:c4:00:00:02', 'set-001', 'lot1', 'verified'],
      ['24:0a:c4:00:00:03', 'set-002', 'lot1', 'verified'],
      ['24:0a:c4:00:00:05', undefined, expect.stringMatching(/^ca-[0-9a-f]{16}$/), 'verified'],
    ]);
    expect(records[0]).toMatchObject({ certSha256: batch.sets[0]!.sha256Hex, station: 'line-1', subject: expect.stringMatching(/^CN=/) });
    expect(new Set(records.map((r) => r.certSha256)).size).toBe(4);
  });

  it('shows a device with its assignment and events', async () => {
    const run = await runCliAsync(['ledger', 'show', '--ledger', ledger, '240ac4000001', '--json']);
    expect(run.code, run.stderr).toBe(0);
    const result = endRecord(run).result;
    expect(result.device).toMatchObject({ mac: '24:0a:c4:00:00:01', chip: 'ESP32C3', identitySource: 'efuse', storageMode: 'partitions' });
    expect(result.assignments).toEqual([expect.objectContaining({ set: 'set-000', state: 'verified', batch: 'lot1' })]);
    expect(result.events.map((e: { kind: string }) => e.kind)).toEqual(expect.arrayContaining(['device-identified', 'claimed', 'writing', 'verified']));
    expectOneLineError(await runCliAsync(['ledger', 'show', '--ledger', ledger, '24:0a:c4:99:99:99']), 2, /has no device/);
  });

  it('holds no private-key bytes (database, WAL)', () => {
    const files = [ledger, `${ledger}-wal`].filter(existsSync).map((path) => readFileSync(path));
    expect(files.length).toBeGreaterThan(0);
    for (const pem of [...batch.sets.map((set) => set.privateKeyPem), issuedKeyPem]) {
      // The private scalar in every encoding it could be stored in, and the PEM text around it.
      const d = Buffer.from(createPrivateKey(pem).export({ format: 'jwk' }).d!, 'base64url');
      const needles = [d, Buffer.from(d.toString('base64')), Buffer.from(d.toString('hex')), Buffer.from(pem.split('\n')[2]!)];
      for (const file of files) for (const needle of needles) expect(file.includes(needle)).toBe(false);
    }
    // The check can fail: the certificates (public) are in there.
    expect(files.some((file) => file.includes(Buffer.from(batch.sets[0]!.certificatePem.split('\n')[3]!)))).toBe(true);
  });
});
