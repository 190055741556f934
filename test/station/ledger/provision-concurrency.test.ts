/**
 * Three station processes provisioning from one 30-set batch in one PostgreSQL ledger: each
 * (scripts/ledger-station.ts: one ledger connection, provisionUnit per unit, as `at-pki provision`
 * and the daemon's station mode run it) provisions its 10 units one after the other, each unit an
 * emulated module whose flash is kept in a state file; the three at once. 30 units verified, 30
 * distinct sets, no set bound to two units; and with kill -9 of station processes at random moments
 * (then the station is started again on its units), the same. Afterwards every unit's flash image holds exactly
 * its set, and a unit provisioned once more reports that it already holds it (nothing written).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createEmulator, FlashStateFile, removeEmulator } from '../../../mock-device/index.js';
import { encodePkiBin } from '../../../src/pki/bin-format.js';
import { openLedger } from '../../../src/station/ledger/open-ledger.js';
import { endRecord, ensureBuilt, runCliAsync, type CliRun } from '../../cli/harness.js';
import { repoRoot } from '../../pki/paths.js';
import { describePostgres } from '../../support/postgres.js';
import { testFactory, writeBatch, type TestBatch } from '../provision/fixtures.js';
import { tempDir } from '../support.js';

const UNITS = 30;
const STATIONS = ['line-a', 'line-b', 'line-c'];
const stationScript = join(repoRoot, 'dist/scripts/ledger-station.js');

describePostgres('provision from 3 stations into one PostgreSQL ledger', (server) => {
  let dir: { path: string; remove(): void };
  let batch: TestBatch;

  beforeAll(async () => {
    ensureBuilt();
    dir = tempDir('pgprov');
    batch = await writeBatch(await testFactory(), join(dir.path, 'lot'), UNITS);
  }, 300_000);
  afterAll(() => dir?.remove());

  const env = (): NodeJS.ProcessEnv => ({ AT_PKI_LEDGER_PASSWORD: server.cluster().password, PGPASSWORD: '' });
  const mac = (run: string, i: number): string => `02:${run === 'plain' ? 'a1' : 'a2'}:00:00:00:${i.toString(16).padStart(2, '0')}`;
  const port = (run: string, i: number): string => `mock://esp32c3?mac=${mac(run, i)}&state=${join(dir.path, `${run}-unit-${i}.bin`)}`;

  async function newLedger(): Promise<string> {
    const url = await server.database();
    const imported = await runCliAsync(['batch', 'import', '--ledger', url, '--batch', 'lot', batch.dir, '--station', 'office'], { env: env() });
    expect(imported.code, imported.stderr).toBe(0);
    return url;
  }

  /** `at-pki provision` for one unit, through the built CLI. */
  function provision(url: string, run: string, i: number, station: string): Promise<CliRun> {
    return runCliAsync(['provision', '--port', port(run, i), '--ledger', url, '--batch', 'lot', '--station', station, '--json'], { env: env() });
  }

  /** A station process on its units; kill() is kill -9. */
  function station(url: string, run: string, name: string, units: number[]): { result: Promise<CliRun>; kill(): void } {
    const args = [stationScript, '--ledger', url, '--batch', 'lot', '--station', name, ...units.flatMap((i) => ['--port', port(run, i)])];
    const child = spawn(process.execPath, args, { env: { ...process.env, ...env() }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    const result = new Promise<CliRun>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
    return { result, kill: () => child.kill('SIGKILL') };
  }

  /**
   * The three stations at once, each on every third unit. With `kills`, each station process is
   * killed -9 at a random moment in up to that many rounds, and started again on its units.
   */
  async function runStations(url: string, run: string, kills: number): Promise<{ kills: number; sets: Map<string, string> }> {
    let killed = 0;
    const sets = new Map<string, string>();
    await Promise.all(
      STATIONS.map(async (name, s) => {
        const units = Array.from({ length: UNITS }, (_, i) => i).filter((i) => i % STATIONS.length === s);
        for (let round = 0; ; round++) {
          const running = station(url, run, name, units);
          const timer = round < kills ? setTimeout(() => running.kill(), 300 + Math.random() * 2500) : undefined;
          const done = await running.result;
          clearTimeout(timer);
          for (const line of done.stdout.split('\n').filter((l) => l.startsWith('{'))) {
            const unit = JSON.parse(line) as { device: string; set: string };
            const before = sets.get(unit.device);
            if (before !== undefined) expect(unit.set, `unit ${unit.device} got another set`).toBe(before);
            sets.set(unit.device, unit.set);
          }
          if (done.code === null) {
            killed++;
            continue;
          }
          expect(done.code, `${name}: ${done.stderr}`).toBe(0);
          break;
        }
      }),
    );
    return { kills: killed, sets };
  }

  async function expectExactlyOnce(url: string, run: string, sets: Map<string, string>): Promise<void> {
    const ledger = await openLedger(url, { password: server.cluster().password });
    try {
      const records = await ledger.exportRecords();
      expect(records).toHaveLength(UNITS);
      expect(records.every((r) => r.outcome === 'verified')).toBe(true);
      expect(new Set(records.map((r) => r.set)).size).toBe(UNITS);
      expect(new Set(records.map((r) => r.device)).size).toBe(UNITS);
      expect(new Set(records.map((r) => r.station))).toEqual(new Set(STATIONS));
      for (const record of records) expect(sets.get(record.device)).toBe(record.set);
      expect(await ledger.inFlight()).toEqual([]);
      expect(await ledger.batch('lot')).toMatchObject({ total: UNITS, available: 0, counts: { verified: UNITS, reserved: 0, writing: 0, failed: 0, suspect: 0 } });
    } finally {
      await ledger.close();
    }
    // Every unit's flash holds exactly its set (the emulator's flash image, read back here).
    for (let i = 0; i < UNITS; i++) {
      const set = batch.sets.find((candidate) => candidate.name === sets.get(mac(run, i)))!;
      const id = `check-${run}-${i}`;
      const emulator = createEmulator(id, { chip: 'esp32c3' });
      try {
        FlashStateFile.attach(emulator, join(dir.path, `${run}-unit-${i}.bin`));
        for (const [partition, type, content] of [['client_cert', 'cert', set.certificatePem], ['client_key', 'key', set.privateKeyPem], ['client_ca', 'ca', set.caChainPem]] as const) {
          const bin = encodePkiBin([{ type, content: Buffer.from(content) }]);
          expect(emulator.readPartition(partition).subarray(0, bin.length).equals(bin), `unit ${i} ${partition}`).toBe(true);
        }
      } finally {
        removeEmulator(id);
      }
    }
    // One unit per station once more: the same set, already on the module, nothing written.
    await Promise.all(
      STATIONS.map(async (station, s) => {
        const again = await provision(url, run, s, station);
        expect(again.code, again.stderr).toBe(0);
        expect(endRecord(again).result).toMatchObject({ device: mac(run, s), set: sets.get(mac(run, s)), alreadyVerified: true, bytesWritten: 0 });
      }),
    );
  }

  it('3 stations, 30 units, one 30-set batch: 30 verified, 30 distinct sets, 0 double assignments', async () => {
    const url = await newLedger();
    const { sets } = await runStations(url, 'plain', 0);
    expect(sets.size).toBe(UNITS);
    await expectExactlyOnce(url, 'plain', sets);
  }, 600_000);

  it('the same with kill -9 of a station process at random moments', async () => {
    const url = await newLedger();
    const { kills, sets } = await runStations(url, 'kill', 3);
    expect(kills).toBeGreaterThan(0);
    expect(sets.size).toBe(UNITS);
    await expectExactlyOnce(url, 'kill', sets);
  }, 900_000);
});
