/**
 * Several processes claiming from one batch at once (scripts/ledger-claimer.ts, one ledger
 * connection each), against PostgreSQL and against one SQLite file: every set goes to exactly one
 * device, and kill -9 of a claimer at random moments loses nothing and doubles nothing — after a
 * restart of the killed station the batch ends with every set bound to one device, all verified.
 */
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runClaimers, type ClaimersRun } from '../../../scripts/ledger-claimer.js';
import type { Ledger } from '../../../src/station/ledger/ledger.js';
import { openLedger } from '../../../src/station/ledger/open-ledger.js';
import { ensureBuilt } from '../../cli/harness.js';
import { describePostgres } from '../../support/postgres.js';
import { tempDir } from '../support.js';
import { fakeSet } from './ledger-contract.js';

const SETS = 30;
const STATIONS = ['line-a', 'line-b', 'line-c'];
const ctx = { station: 'setup', actor: 'test' };

beforeAll(() => ensureBuilt(), 300_000);

interface Backend {
  spec(): Promise<string>;
  password(): string | undefined;
}

async function importBatch(spec: string, password: string | undefined): Promise<void> {
  const ledger = await openLedger(spec, password === undefined ? {} : { password });
  try {
    await ledger.importBatch({ name: 'batch-30', kind: 'sets', source: '/batches/30' }, Array.from({ length: SETS }, (_, i) => fakeSet(`set-${String(i).padStart(2, '0')}`)), ctx);
  } finally {
    await ledger.close();
  }
}

function failures(run: ClaimersRun): string[] {
  return run.results.filter((r) => !r.killed && r.code !== 0).map((r) => `${r.station} exited ${r.code}: ${r.stderr}`);
}

/** The end state every run must reach: 30 verified units, 30 distinct sets, 0 double assignments. */
async function expectExactlyOnce(ledger: Ledger): Promise<void> {
  const records = await ledger.exportRecords();
  expect(records).toHaveLength(SETS);
  expect(records.every((r) => r.outcome === 'verified' && r.batch === 'batch-30')).toBe(true);
  expect(new Set(records.map((r) => r.set)).size).toBe(SETS);
  expect(new Set(records.map((r) => r.certSha256)).size).toBe(SETS);
  expect(new Set(records.map((r) => r.device)).size).toBe(SETS);
  expect(await ledger.inFlight()).toEqual([]);
  expect(await ledger.batch('batch-30')).toMatchObject({ total: SETS, available: 0, counts: { reserved: 0, writing: 0, verified: SETS, failed: 0, suspect: 0 } });
  // Each device holds at most one set of the batch, and each set at most one device, over all assignments ever.
  const devices = new Map<string, string>();
  for (const record of records) {
    const history = await ledger.assignmentsOf(record.device);
    expect(history.filter((a) => a.batch === 'batch-30').map((a) => a.set.name)).toEqual([record.set]);
    devices.set(record.set!, record.device);
  }
  expect(devices.size).toBe(SETS);
}

function describeClaims(name: string, backend: Backend): void {
  it(`${name}: 3 processes claim from one 30-set batch: 30 claims, 30 distinct sets, the rest told it is exhausted`, async () => {
    const spec = await backend.spec();
    const password = backend.password();
    await importBatch(spec, password);
    // Each brings more units than there are sets: every one of them runs into the end of the batch.
    const run = await runClaimers({ ledger: spec, batch: 'batch-30', processes: STATIONS.map((station) => ({ station, devices: SETS + 1 })), verify: true, password });
    expect(failures(run)).toEqual([]);
    const claims = run.results.flatMap((r) => r.claims);
    expect(claims).toHaveLength(SETS);
    expect(new Set(claims.map((c) => c.set)).size).toBe(SETS);
    expect(run.results.reduce((n, r) => n + r.exhausted, 0)).toBe(STATIONS.length);
    const ledger = await openLedger(spec, password === undefined ? {} : { password });
    try {
      await expectExactlyOnce(ledger);
    } finally {
      await ledger.close();
    }
  }, 180_000);

  it(`${name}: kill -9 of a station at random moments, then its restart: still 30 verified, 30 distinct sets, 0 double assignments`, async () => {
    const spec = await backend.spec();
    const password = backend.password();
    await importBatch(spec, password);
    let killedAny = false;
    // Kill each station after a random number of claims (0–6) in a few rounds; restart the killed ones with the same devices.
    for (let round = 0; round < 6; round++) {
      const run = await runClaimers({
        ledger: spec,
        batch: 'batch-30',
        processes: STATIONS.map((station) => ({ station, devices: 14 })),
        verify: true,
        password,
        killAfter: () => (round < 3 ? 1 + Math.floor(Math.random() * 6) : undefined),
      });
      expect(failures(run)).toEqual([]);
      killedAny ||= run.results.some((r) => r.killed);
      if (run.results.every((r) => !r.killed)) break;
    }
    expect(killedAny).toBe(true);
    const ledger = await openLedger(spec, password === undefined ? {} : { password });
    try {
      await expectExactlyOnce(ledger);
    } finally {
      await ledger.close();
    }
  }, 300_000);
}

describe('ledger claims from several processes', () => {
  const dirs: { remove(): void }[] = [];
  afterEach(() => {
    while (dirs.length) dirs.pop()!.remove();
  });
  describeClaims('sqlite', {
    spec: async () => {
      const dir = tempDir('claims');
      dirs.push(dir);
      return join(dir.path, 'ledger.sqlite');
    },
    password: () => undefined,
  });
});

describePostgres('ledger claims from several processes (PostgreSQL)', (server) => {
  describeClaims('postgres', { spec: () => server.database(), password: () => server.cluster().password });
});
