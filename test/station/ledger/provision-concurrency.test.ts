/**
 * Three stations provisioning from one 30-set batch in one PostgreSQL ledger: each station runs
 * `at-pki provision` for its units one after the other (each unit an emulated module whose flash is
 * kept in a state file), the three stations at once. 30 units verified, 30 distinct sets, no set
 * bound to two units; and with kill -9 of the provisioning process at random moments (then the
 * station provisions that unit again), the same. Afterwards every unit is provisioned once more and
 * reports that it already holds its set (nothing written): the flash equals the ledger record.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openLedger } from '../../../src/station/ledger/open-ledger.js';
import { cliPath, endRecord, ensureBuilt, runCliAsync, type CliRun } from '../../cli/harness.js';
import { describePostgres } from '../../support/postgres.js';
import { testFactory, writeBatch, type TestBatch } from '../provision/fixtures.js';
import { tempDir } from '../support.js';

const UNITS = 30;
const STATIONS = ['line-a', 'line-b', 'line-c'];

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

  function provision(url: string, run: string, i: number, station: string): { result: Promise<CliRun>; kill(): void } {
    const child = spawn(process.execPath, [cliPath, 'provision', '--port', port(run, i), '--ledger', url, '--batch', 'lot', '--station', station, '--json'], {
      env: { ...process.env, AT_PKI_DEBUG: '', ...env() },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    const result = new Promise<CliRun>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
    return { result, kill: () => child.kill('SIGKILL') };
  }

  /** Each station provisions its units in turn; `killChance` of a run being killed -9 at a random moment (then it is run again). */
  async function runStations(url: string, run: string, killChance: number): Promise<{ kills: number; sets: Map<string, string> }> {
    let kills = 0;
    const sets = new Map<string, string>();
    await Promise.all(
      STATIONS.map(async (station, s) => {
        for (let i = s; i < UNITS; i += STATIONS.length) {
          for (let attempt = 1; ; attempt++) {
            const running = provision(url, run, i, station);
            const killed = attempt < 4 && Math.random() < killChance;
            const timer = killed ? setTimeout(() => running.kill(), 200 + Math.random() * 1800) : undefined;
            const done = await running.result;
            clearTimeout(timer);
            if (done.code === null) {
              kills++;
              continue;
            }
            expect(done.code, `${station} unit ${i}: ${done.stderr}`).toBe(0);
            const result = endRecord(done).result as { device: string; set: string };
            expect(result.device).toBe(mac(run, i));
            sets.set(result.device, result.set);
            break;
          }
        }
      }),
    );
    return { kills, sets };
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
    // Once more, every unit: the same set, already on the module, nothing written.
    await Promise.all(
      STATIONS.map(async (station, s) => {
        for (let i = s; i < UNITS; i += STATIONS.length) {
          const again = await provision(url, run, i, station).result;
          expect(again.code, again.stderr).toBe(0);
          expect(endRecord(again).result).toMatchObject({ device: mac(run, i), set: sets.get(mac(run, i)), alreadyVerified: true, unchanged: true, bytesWritten: 0 });
        }
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
    const { kills, sets } = await runStations(url, 'kill', 0.4);
    expect(kills).toBeGreaterThan(0);
    expect(sets.size).toBe(UNITS);
    await expectExactlyOnce(url, 'kill', sets);
  }, 900_000);
});
