/**
 * A station that loses the PostgreSQL ledger mid-unit (the server is stopped under it): the unit's
 * outcome is kept in the local outbox and the call succeeds; no claim is made while the database is
 * away; when it is back, the outcome is written (with the time it happened) before anything else —
 * by the same process or by the next one on the host. A replay whose reply was lost is not applied
 * twice.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import type { Ledger } from '../../../src/station/ledger/ledger.js';
import { openLedger } from '../../../src/station/ledger/open-ledger.js';
import { PostgresLedger } from '../../../src/station/ledger/postgres-ledger.js';
import { describePostgres } from '../../support/postgres.js';
import { tempDir } from '../support.js';
import { fakeDevice, fakeSet } from './ledger-contract.js';

const ctx = { station: 'line-1', port: 'bay-a', actor: 'test' };

describePostgres('the ledger outbox: PostgreSQL away mid-unit', (server) => {
  const cleanups: (() => Promise<unknown> | void)[] = [];
  afterEach(async () => {
    await server.cluster().resume();
    while (cleanups.length) await cleanups.pop()!();
  });

  async function setup(): Promise<{ url: string; outbox: string; ledger: Ledger; a: string; b: string; id: number }> {
    const url = await server.database();
    const dir = tempDir('outbox');
    cleanups.push(() => dir.remove());
    const outbox = join(dir.path, 'outbox.jsonl');
    const ledger = await openLedger(url, { password: server.cluster().password, outboxPath: outbox });
    cleanups.push(() => ledger.close());
    await ledger.importBatch({ name: 'lot', kind: 'sets', source: '/lot' }, [fakeSet('s0'), fakeSet('s1')], ctx);
    const [a, b] = [fakeDevice(1).mac, fakeDevice(2).mac];
    await ledger.recordDevice(fakeDevice(1), ctx);
    await ledger.recordDevice(fakeDevice(2), ctx);
    const claim = await ledger.claim({ batch: 'lot', device: a }, ctx);
    if (claim.kind === 'exhausted') throw new Error('unreachable');
    await ledger.transition(claim.assignment.id, 'writing', ctx);
    return { url, outbox, ledger, a, b, id: claim.assignment.id };
  }

  async function fromDatabase(url: string): Promise<PostgresLedger> {
    const direct = await PostgresLedger.open(url, { password: server.cluster().password });
    cleanups.push(() => direct.close());
    return direct;
  }

  it('keeps the outcome locally, refuses claims while away, writes it back first when the database returns', async () => {
    const { url, outbox, ledger, a, b, id } = await setup();
    await server.cluster().pause();

    const verified = await ledger.transition(id, 'verified', ctx, undefined, { bytesWritten: 1234 });
    expect(verified).toMatchObject({ id, device: a, state: 'verified', set: { name: 's0' } });
    await ledger.appendEvent({ kind: 'unit-left', device: a, detail: { after: 'verified' } }, ctx);
    const kept = readFileSync(outbox, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { op: string });
    expect(kept.map((entry) => entry.op)).toEqual(['transition', 'event']);

    await expect(ledger.claim({ batch: 'lot', device: b }, ctx)).rejects.toMatchObject({
      code: 'LEDGER_UNAVAILABLE',
      exitCode: 1,
      message: expect.stringMatching(/^no claim while the ledger database .* is away: 2 outcome\(s\) kept in /),
    });
    // Only what this process holds can change locally; the state machine still holds.
    await expect(ledger.transition(id + 100, 'verified', ctx)).rejects.toMatchObject({ code: 'LEDGER_UNAVAILABLE' });
    await expect(ledger.transition(id, 'failed', ctx, 'no')).rejects.toMatchObject({ code: 'LEDGER_STATE' });

    await server.cluster().resume();
    const next = await ledger.claim({ batch: 'lot', device: b }, ctx);
    expect(next).toMatchObject({ kind: 'claimed', assignment: { device: b, set: { name: 's1' } } });
    expect(existsSync(outbox)).toBe(false);

    const direct = await fromDatabase(url);
    expect(await direct.assignment(id)).toMatchObject({ state: 'verified', updatedAt: verified.updatedAt });
    const events = await direct.events({ device: a });
    expect(events.map((e) => e.kind)).toEqual(['device-identified', 'claimed', 'writing', 'verified', 'unit-left']);
    expect(events[3]).toMatchObject({ time: verified.updatedAt, station: 'line-1', port: 'bay-a', detail: { from: 'writing', bytesWritten: 1234, keptLocally: true } });
  }, 120_000);

  it('a later process on the host writes back what an earlier one kept', async () => {
    const { url, outbox, ledger, id } = await setup();
    await server.cluster().pause();
    await ledger.transition(id, 'suspect', ctx, 'unit left the bay while writing');
    await ledger.close();
    expect(existsSync(outbox)).toBe(true);
    await server.cluster().resume();

    const later = await openLedger(url, { password: server.cluster().password, outboxPath: outbox });
    cleanups.push(() => later.close());
    expect(existsSync(outbox)).toBe(false);
    expect(await later.assignment(id)).toMatchObject({ state: 'suspect', reason: 'unit left the bay while writing' });
  }, 120_000);

  it('a replay that already landed (the reply was lost, not the write) is not applied twice', async () => {
    const { url, id } = await setup();
    const direct = await fromDatabase(url);
    const stamp = { time: new Date('2030-01-01T00:00:00Z'), opId: 'op-1' };
    await direct.transitionStamped(id, 'verified', ctx, undefined, {}, stamp);
    await direct.transitionStamped(id, 'verified', ctx, undefined, {}, stamp);
    await direct.appendEventStamped({ kind: 'note' }, ctx, { opId: 'op-2' });
    await direct.appendEventStamped({ kind: 'note' }, ctx, { opId: 'op-2' });
    expect((await direct.events()).filter((e) => e.kind === 'verified' || e.kind === 'note')).toHaveLength(2);
    expect(await direct.assignment(id)).toMatchObject({ state: 'verified', updatedAt: stamp.time });
  }, 120_000);
});
