/**
 * Station mode in the daemon: bays provision the units plugged into them on their own, each unit its
 * own set; a unit left in its bay is not provisioned twice; a new unit (different MAC) in the bay gets
 * the next set; an exhausted batch fails the unit with the module untouched; bays take no API jobs;
 * the board, metrics, journal and ledger agree. Config parsing of the `station` section.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createEmulator, type EspAtEmulator } from '../../mock-device/index.js';
import { parseStationConfig } from '../../src/station/config.js';
import { parseJournal } from '../../src/station/journal.js';
import { openLedger } from '../../src/station/ledger/open-ledger.js';
import { importBatchDir } from '../../src/station/provision/batch-import.js';
import { testFactory, writeBatch, type TestBatch, type TestFactory } from './provision/fixtures.js';
import { emulatedPort, eventually, raw, removePorts, startTestStation, tempDir, type EmulatedPort, type TestStation } from './support.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

let factory: TestFactory;
beforeAll(async () => {
  factory = await testFactory();
});

async function ledgerWithBatch(count: number): Promise<{ path: string; batch: TestBatch }> {
  const dir = tempDir('smode');
  cleanups.push(() => dir.remove());
  const batch = await writeBatch(factory, join(dir.path, 'lot'), count);
  const path = join(dir.path, 'ledger.sqlite');
  const ledger = await openLedger(path);
  await importBatchDir(ledger, 'lot1', batch.dir, { station: 'test' });
  await ledger.close();
  return { path, batch };
}

async function stationWith(ports: EmulatedPort[], station: Record<string, unknown>): Promise<TestStation> {
  const t = await startTestStation({ ports, config: { station: { name: 'line-1', pollMs: 50, ...station } } });
  cleanups.push(() => removePorts(ports));
  cleanups.push(() => t.stop());
  return t;
}

function replaceUnit(port: EmulatedPort, mac: string, options: Parameters<typeof createEmulator>[1] = {}): EspAtEmulator {
  const emulator = createEmulator(port.id, { chip: 'esp32c3', mac, ...options });
  port.emulator = emulator;
  return emulator;
}

describe('station mode', () => {
  it('provisions each unit plugged into a bay with its own set, once, and the next unit with the next set', async () => {
    const { path, batch } = await ledgerWithBatch(3);
    const b1 = emulatedPort('b1', { mac: '24:0a:c4:01:00:01' });
    const b2 = emulatedPort('b2', { mac: '24:0a:c4:01:00:02', firmware: '3.2.0.0', mfg: 'empty' });
    const t = await stationWith([b1, b2], { ledger: path, batch: 'lot1' });
    const board = t.station.board;
    const passed = (bay: string, device: string) => board.bay(bay)?.state === 'passed' && board.bay(bay)?.device === device;
    await eventually(() => passed('b1', '24:0a:c4:01:00:01') && passed('b2', '24:0a:c4:01:00:02'), 'both bays passed');
    const sets = [board.bay('b1')!.set, board.bay('b2')!.set];
    expect(new Set(sets).size).toBe(2);
    expect(sets.every((s) => s && batch.sets.some((x) => x.name === s))).toBe(true);
    expect(b2.emulator.readMfg('client_cert', 'client_cert.0')!.bytes.toString()).toBe(batch.sets.find((s) => s.name === sets[1])!.certificatePem);
    expect(board.totals()).toMatchObject({ passedToday: 2, failedToday: 0, remainingSets: 1 });

    // The unit stays in its bay: polled, never provisioned again.
    b1.emulator.resetStats();
    await eventually(() => (b1.emulator.stats.commandsByName['+SYSREG'] ?? 0) >= 6, 'a few identity polls');
    expect(b1.emulator.stats.flashBytesRead + b1.emulator.stats.flashBytesWritten).toBe(0);
    expect(board.bay('b1')!.state).toBe('passed');

    // A new unit in bay 1 gets the last set; another one in bay 2 finds the batch exhausted.
    replaceUnit(b1, '24:0a:c4:01:00:03');
    await eventually(() => passed('b1', '24:0a:c4:01:00:03'), 'the new unit in b1 passed');
    const late = replaceUnit(b2, '24:0a:c4:01:00:04', { fill: 'garbage', seed: 4 });
    const before = Buffer.from(late.flashImage());
    await eventually(() => board.bay('b2')?.state === 'failed' && board.bay('b2')?.device === '24:0a:c4:01:00:04', 'b2 failed');
    expect(board.bay('b2')!.reason).toMatch(/batch lot1 is exhausted/);
    expect(Buffer.from(late.flashImage()).equals(before)).toBe(true);
    expect(board.totals()).toMatchObject({ passedToday: 3, failedToday: 1, remainingSets: 0 });

    // Bays take no API jobs.
    const refused = await raw({ socket: t.socket }, 'POST', '/jobs', { body: JSON.stringify({ type: 'partitions', port: 'b1' }), headers: { 'Content-Type': 'application/json' } });
    expect(refused.status).toBe(409);
    expect(refused.json).toMatchObject({ error: { code: 'PORT_IS_BAY' } });

    const metrics = await t.client.getMetrics();
    expect(metrics).toMatch(/station_units_total\{bay="b1",result="passed"\} 2/);
    expect(metrics).toMatch(/station_units_total\{bay="b2",result="failed"\} 1/);

    // Journal and ledger agree: every verified unit of the journal is a verified assignment, and back.
    const ledger = await openLedger(path);
    const exported = await ledger.exportRecords();
    await ledger.close();
    const journal = parseJournal(readFileSync(t.journal, 'utf8')).records.filter((r) => r.type === 'unit');
    const verified = journal.filter((r) => r.type === 'unit' && r.outcome === 'verified').map((r) => (r.type === 'unit' ? `${r.device} ${r.set}` : ''));
    expect(verified.sort()).toEqual(exported.filter((r) => r.outcome === 'verified').map((r) => `${r.device} ${r.set}`).sort());
    expect(exported.every((r) => r.station === 'line-1')).toBe(true);
    expect(journal.filter((r) => r.type === 'unit' && r.outcome === 'refused')).toHaveLength(1);
  });

  it('issues a certificate per unit from a factory CA given in the config', async () => {
    const dir = tempDir('sissue');
    cleanups.push(() => dir.remove());
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(dir.path, 'ca.pem'), factory.testCa.certPem);
    writeFileSync(join(dir.path, 'ca.key'), factory.testCa.keyPem);
    const bay = emulatedPort('i1', { mac: '24:0a:c4:02:00:01' });
    const t = await stationWith([bay], { ledger: join(dir.path, 'l.sqlite'), issue: { caCert: join(dir.path, 'ca.pem'), caKey: join(dir.path, 'ca.key') } });
    await eventually(() => t.station.board.bay('i1')?.state === 'passed', 'bay passed');
    expect(t.station.board.bay('i1')).toMatchObject({ device: '24:0a:c4:02:00:01', subject: 'CN=240ac4020001' });
  });
});

describe('station config section', () => {
  const ports = [{ name: 'a', url: 'mock://esp32c3' }, { name: 'b', url: 'mock://esp32' }];
  const parse = (station: unknown) => parseStationConfig({ ports, api: { socket: '/tmp/x.sock' }, station }, { baseDir: '/etc/at-pki' });

  it('takes a batch or an issuance source, bays among the ports, paths relative to the config', () => {
    expect(parse({ ledger: 'l.sqlite', batch: 'lot1' }).station).toEqual({ ledger: '/etc/at-pki/l.sqlite', name: undefined, batch: 'lot1', issue: undefined, bays: ['a', 'b'], pollMs: 1000 });
    expect(parse({ ledger: 'postgres://u@h/db', issue: { caCert: 'ca.pem', caKey: 'ca.key', passphraseEnv: 'P' }, bays: ['b'] }).station).toMatchObject({
      ledger: 'postgres://u@h/db',
      issue: { caCert: '/etc/at-pki/ca.pem', caKey: '/etc/at-pki/ca.key', passphraseEnv: 'P' },
      bays: ['b'],
    });
  });

  it('refuses what makes no sense, one line naming the field', () => {
    expect(() => parse({ batch: 'x' })).toThrow(/station\.ledger: is required/);
    expect(() => parse({ ledger: 'l', batch: 'x', issue: { caCert: 'a', caKey: 'b' } })).toThrow(/exactly one credential source/);
    expect(() => parse({ ledger: 'l' })).toThrow(/exactly one credential source/);
    expect(() => parse({ ledger: 'l', batch: 'x', bays: ['c'] })).toThrow(/station\.bays\[0\]: 'c' is not a configured port/);
    expect(() => parse({ ledger: 'l', issue: { caCert: 'a', caKey: 'b', passphrase: 'secret' } })).toThrow(/station\.issue\.passphrase: unknown field/);
    expect(() => parse({ ledger: 'l', batch: 'x', pollMs: 1 })).toThrow(/station\.pollMs/);
  });
});
