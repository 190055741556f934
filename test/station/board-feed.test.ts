/**
 * The plain daemon's feed of the board: port states (down with the reason, waiting once up), update
 * and verify jobs (provisioning with phase and progress, then passed or failed with the job's
 * one-line error, counted in the totals), a unit pulled (down, its result gone), other jobs leaving
 * the board alone, and detach() (station mode) stopping it all.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BayStatus } from '../../src/station/bay-board.js';
import { emulatedPort, eventually, pem, removePorts, runJob, startTestStation, type EmulatedPort, type TestStation } from './support.js';

const CERT = { kind: 'items' as const, items: [{ type: 'cert' as const, pem: pem('device.crt') }] };

let a: EmulatedPort;
let b: EmulatedPort;
let t: TestStation;

beforeAll(async () => {
  a = emulatedPort('a');
  b = emulatedPort('b');
  t = await startTestStation({ ports: [a, b, { name: 'gone', url: '/dev/at-pki-test-no-such-tty' }] });
  await eventually(() => ['a', 'b'].every((bay) => t.station.board.bay(bay)?.state === 'waiting'), 'bays a and b waiting');
});

afterAll(async () => {
  await t?.stop();
  removePorts([a, b]);
});

/** Every status bay `bay` takes while `work` runs. */
async function history(bay: string, work: () => Promise<unknown>): Promise<BayStatus[]> {
  const seen: BayStatus[] = [];
  const onChange = (): void => {
    seen.push({ ...t.station.board.bay(bay)! });
  };
  t.station.board.on('change', onChange);
  try {
    await work();
  } finally {
    t.station.board.off('change', onChange);
  }
  return seen;
}

describe('board feed', () => {
  it('shows a port that cannot be opened as down, with the reason', async () => {
    const gone = await eventually(() => {
      const bay = t.station.board.bay('gone')!;
      return bay.reason !== 'connecting' ? bay : undefined;
    }, 'the first connection attempt to fail');
    expect(gone.state).toBe('down');
    expect(gone.reason).toBe(t.station.port('gone')!.lastError!.message);
  });

  it('follows an update job: provisioning with phase and progress, then passed, counted', async () => {
    const seen = await history('a', async () => {
      const run = await runJob(t.client, { type: 'update', port: 'a', partition: 'client_cert', source: CERT });
      expect(run.view.state).toBe('succeeded');
    });
    const states = seen.map((status) => status.state).filter((state, i, all) => state !== all[i - 1]);
    expect(states).toEqual(['provisioning', 'passed']);
    const progress = seen.filter((status) => status.progress);
    expect(progress.length).toBeGreaterThan(0);
    for (const status of progress) {
      expect(['compare', 'erase', 'write', 'read', 'verify']).toContain(status.phase);
      expect(status.progress!.done).toBeLessThanOrEqual(status.progress!.total);
    }
    expect(progress.some((status) => status.phase === 'write')).toBe(true);
    expect(t.station.board.bay('a')).toMatchObject({ state: 'passed' });
    expect(t.station.board.bay('a')!.progress).toBeUndefined();
    expect(t.station.board.totals()).toMatchObject({ passedToday: 1, failedToday: 0, yield: 1, unitsLastHour: 1 });
  });

  it('leaves the board alone for read and partitions jobs', async () => {
    const seen = await history('a', async () => {
      expect((await runJob(t.client, { type: 'read', port: 'a', partition: 'client_cert', length: 64 })).view.state).toBe('succeeded');
      expect((await runJob(t.client, { type: 'partitions', port: 'a' })).view.state).toBe('succeeded');
    });
    expect(seen).toEqual([]);
    expect(t.station.board.bay('a')!.state).toBe('passed');
  });

  it('shows a verify that finds other bytes as failed, with where they differ', async () => {
    const run = await runJob(t.client, { type: 'verify', port: 'b', partition: 'client_cert', source: CERT });
    // The job itself succeeds: it answered the question (match: false).
    expect(run.view).toMatchObject({ state: 'succeeded', result: { match: false, firstDifference: 0 } });
    expect(t.station.board.bay('b')).toMatchObject({ state: 'failed', reason: 'verify: client_cert does not hold the bin (first difference at byte 0)' });
    expect(t.station.board.totals()).toMatchObject({ passedToday: 1, failedToday: 1 });
  });

  it('shows a failing unit as failed with the job error, and counts it', async () => {
    b.emulator.setFaults({ error: { p: 1, match: 'SYSFLASH=1' } });
    const run = await runJob(t.client, { type: 'update', port: 'b', partition: 'client_cert', source: CERT });
    b.emulator.setFaults(undefined);
    expect(run.view.state).toBe('failed');
    expect(t.station.board.bay('b')).toMatchObject({ state: 'failed', reason: run.view.error!.message });
    const totals = t.station.board.totals();
    expect(totals).toMatchObject({ passedToday: 1, failedToday: 2, unitsLastHour: 3 });
    expect(totals.lastFailures.map((failure) => failure.reason)).toEqual([run.view.error!.message, 'verify: client_cert does not hold the bin (first difference at byte 0)']);
  });

  it('clears a result when the unit is pulled: down with the reason, then waiting for the next', async () => {
    const seen = await history('b', async () => {
      b.emulator.unplug();
      await eventually(() => t.station.board.bay('b')!.state === 'waiting', 'bay b waiting again');
    });
    expect(seen[0]).toMatchObject({ state: 'down', reason: expect.stringContaining('b') });
    expect(seen.at(-1)!.reason).toBeUndefined();
  });

  it('stops feeding once detached (station mode drives the board)', async () => {
    t.station.boardFeed.detach();
    const seen = await history('a', async () => {
      expect((await runJob(t.client, { type: 'update', port: 'a', partition: 'client_cert', source: CERT, force: true })).view.state).toBe('succeeded');
      a.emulator.unplug();
      await eventually(() => t.station.port('a')!.isUp === false || t.station.port('a')!.reconnects > 0, 'port a lost');
    });
    expect(seen).toEqual([]);
    expect(t.station.board.totals().passedToday).toBe(1);
  });
});
