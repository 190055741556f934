/**
 * The journal: append-only, fsynced, 0600, survives a torn last line; and what a restarted daemon
 * makes of it: unfinished jobs become `interrupted`, interrupted updates get their partition checked
 * against the bin's SHA-256 once the port is up, and none of this is done twice.
 */
import { createHash } from 'node:crypto';
import { appendFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { encodePkiBin } from '../../src/pki/bin-format.js';
import type { JobSpec } from '../../src/station/api-types.js';
import { Journal, parseJournal, type JournalRecord } from '../../src/station/journal.js';
import { fixture } from '../pki/paths.js';
import { emulatedPort, eventually, removePorts, startTestStation, tempDir, type EmulatedPort } from './support.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

function dir(): string {
  const d = tempDir('jr');
  cleanups.push(() => d.remove());
  return d.path;
}

describe('Journal', () => {
  it('appends records, one per line, in a 0600 file', async () => {
    const path = join(dir(), 'sub', 'journal.jsonl');
    const { journal, contents } = await Journal.open(path);
    expect(contents).toEqual({ records: [], warnings: [] });
    await journal.append({ type: 'daemon-start', pid: 1, version: 'x' });
    await Promise.all([journal.append({ type: 'started', id: 'a' }), journal.append({ type: 'started', id: 'b' })]);
    await journal.close();
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const lines = readFileSync(path, 'utf8').split('\n');
    expect(lines.at(-1)).toBe('');
    const records = lines.slice(0, -1).map((line) => JSON.parse(line) as JournalRecord);
    expect(records.map((r) => [r.v, r.type, 'id' in r ? r.id : undefined])).toEqual([
      [1, 'daemon-start', undefined],
      [1, 'started', 'a'],
      [1, 'started', 'b'],
    ]);
    expect(records.every((r) => !Number.isNaN(Date.parse(r.time)))).toBe(true);
  });

  it('skips a torn last line and starts the next record on a fresh line', async () => {
    const path = join(dir(), 'journal.jsonl');
    const first = await Journal.open(path);
    await first.journal.append({ type: 'started', id: 'a' });
    await first.journal.close();
    appendFileSync(path, '{"v":1,"type":"accep');
    const second = await Journal.open(path);
    expect(second.contents.records).toHaveLength(1);
    expect(second.contents.warnings).toEqual([expect.stringMatching(/^line 2 \(the last, probably torn by a crash\) is not JSON/)]);
    await second.journal.append({ type: 'started', id: 'b' });
    await second.journal.close();
    const third = parseJournal(readFileSync(path, 'utf8'));
    expect(third.records.map((r) => ('id' in r ? r.id : r.type))).toEqual(['a', 'b']);
    expect(third.warnings).toHaveLength(1);
  });
});

describe('restart after a crash', () => {
  const certBin = encodePkiBin([{ type: 'cert', content: fixture('device.crt') }]);
  const keyBin = encodePkiBin([{ type: 'key', content: fixture('device.key') }]);
  const summary = (bin: Buffer) => ({ sha256: createHash('sha256').update(bin).digest('hex'), bytes: bin.length, items: 1, source: 'items' as const });
  const t0 = '2026-01-01T00:00:00.000Z';

  function crashedJournal(path: string, port: string): void {
    const update = (partition: string, bin: Buffer): JobSpec => ({ type: 'update', port, partition, bin: summary(bin), force: false });
    const records: JournalRecord[] = [
      { v: 1, type: 'daemon-start', time: t0, pid: 1, version: 'old' },
      { v: 1, type: 'accepted', time: t0, id: 'done', job: { type: 'partitions', port } },
      { v: 1, type: 'started', time: t0, id: 'done' },
      { v: 1, type: 'finished', time: t0, id: 'done', state: 'succeeded', result: { partitions: [] } },
      { v: 1, type: 'accepted', time: t0, id: 'written', job: update('client_cert', certBin) },
      { v: 1, type: 'started', time: t0, id: 'written' },
      { v: 1, type: 'accepted', time: t0, id: 'half', job: update('client_key', keyBin) },
      { v: 1, type: 'started', time: t0, id: 'half' },
      { v: 1, type: 'accepted', time: t0, id: 'queued', job: update('client_ca', certBin) },
    ];
    writeFileSync(path, `${records.map((r) => JSON.stringify(r)).join('\n')}\n`, { mode: 0o600 });
  }

  it('reports running and queued jobs as interrupted, with the checked partition state', async () => {
    const d = dir();
    const a: EmulatedPort = emulatedPort('a', { fill: 'garbage', seed: 3 });
    cleanups.push(() => removePorts([a]));
    // The crash came after the cert was written, and half-way through the key.
    a.emulator.writeRaw('client_cert', 0, certBin);
    a.emulator.writeRaw('client_key', 0, keyBin.subarray(0, 100));
    crashedJournal(join(d, 'journal.jsonl'), 'a');

    let t = await startTestStation({ ports: [a], dir: d });
    const checked = await eventually(async () => {
      const [written, half] = await Promise.all([t.client.getJob('written'), t.client.getJob('half')]);
      return written.recovery?.checkedAt && half.recovery?.checkedAt ? { written, half } : undefined;
    }, 'interrupted updates checked');
    expect(checked.written).toMatchObject({
      state: 'interrupted',
      error: { code: 'INTERRUPTED', message: 'the daemon stopped while this job was running', details: { deviceState: expect.stringMatching(/^checked after restart: client_cert holds the job's bin/) } },
      recovery: { partitionState: 'holds-new-bin' },
    });
    expect(checked.half).toMatchObject({ state: 'interrupted', recovery: { partitionState: 'does-not-hold-new-bin', message: expect.stringContaining('run the update again') } });
    const queued = await t.client.getJob('queued');
    expect(queued).toMatchObject({ state: 'interrupted', error: { details: { deviceState: 'unchanged: the job never started' } } });
    expect(queued.recovery).toBeUndefined();
    expect((await t.client.getJob('done')).state).toBe('succeeded');

    const events: unknown[] = [];
    await t.client.streamEvents('half', (e) => events.push(e));
    expect(events).toEqual([{ type: 'end', ok: false, error: (await t.client.getJob('half')).error }]);
    expect((await t.client.getStatus()).jobs.interrupted).toBe(3);
    const metrics = await t.client.getMetrics();
    expect(metrics).toContain('jobs_total{type="update",result="interrupted"} 3');
    // The checks only read.
    expect(a.emulator.stats.flashBytesWritten).toBe(0);
    expect(a.emulator.stats.flashBytesErased).toBe(0);

    const after = parseJournal(readFileSync(t.journal, 'utf8')).records;
    expect(after.filter((r) => r.type === 'finished' && r.state === 'interrupted').map((r) => (r as { id: string }).id).sort()).toEqual(['half', 'queued', 'written']);
    expect(after.filter((r) => r.type === 'checked').map((r) => (r as { id: string }).id).sort()).toEqual(['half', 'written']);

    // Once more: nothing is re-reported or re-checked.
    await t.stop();
    t = await startTestStation({ ports: [a], dir: d });
    cleanups.push(() => t.stop());
    expect((await t.client.getJob('written')).recovery?.partitionState).toBe('holds-new-bin');
    expect((await t.client.getStatus()).jobs.interrupted).toBe(3);
    await t.stop();
    const again = parseJournal(readFileSync(t.journal, 'utf8')).records;
    expect(again.filter((r) => r.type === 'finished')).toHaveLength(4);
    expect(again.filter((r) => r.type === 'checked')).toHaveLength(2);
    expect(again.filter((r) => r.type === 'daemon-stop')).toHaveLength(2);
  });

  it('keeps the state unknown while the port is down', async () => {
    const d = dir();
    crashedJournal(join(d, 'journal.jsonl'), 'x');
    const t = await startTestStation({ ports: [{ name: 'x', url: join(d, 'no-such-tty') }], dir: d });
    cleanups.push(() => t.stop());
    const job = await t.client.getJob('written');
    expect(job).toMatchObject({
      state: 'interrupted',
      recovery: { partitionState: 'unknown', message: 'not checked yet: waiting for port x to come up' },
      error: { details: { deviceState: expect.stringMatching(/^unknown until checked/) } },
    });
    expect(job.recovery!.checkedAt).toBeUndefined();
  });
});
