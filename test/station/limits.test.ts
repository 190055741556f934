/**
 * Time limits on running jobs: jobs.timeoutMs stops a job at its next safe point (failed, TIMEOUT,
 * with its device state) and the port keeps working; a shutdown whose grace runs out stops running
 * jobs the same way and reports them `interrupted`.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { JobEvent } from '../../src/station/api-types.js';
import { parseJournal } from '../../src/station/journal.js';
import { emulatedPort, eventually, pem, removePorts, runJob, startTestStation, tempDir, type EmulatedPort } from './support.js';

const certItems = { kind: 'items' as const, items: [{ type: 'cert' as const, pem: pem('device.crt') }] };

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

function slowPort(name: string): EmulatedPort {
  const port = emulatedPort(name, { flashTiming: { sectorEraseMs: 2500 } });
  cleanups.push(() => removePorts([port]));
  return port;
}

describe('limits', () => {
  it('jobs.timeoutMs stops a running job at a safe point; the port stays usable', async () => {
    const port = slowPort('t');
    const t = await startTestStation({ ports: [port], config: { jobs: { timeoutMs: 1000 } } });
    cleanups.push(() => t.stop());
    await eventually(async () => (await t.client.getStatus()).ports[0]!.state === 'up', 'port up');
    const run = await runJob(t.client, { type: 'update', port: 't', partition: 'client_cert', force: true, source: certItems });
    expect(run.view.state).toBe('failed');
    expect(run.view.error).toMatchObject({ code: 'TIMEOUT', message: expect.stringContaining('jobs.timeoutMs'), details: { deviceState: expect.stringMatching(/^modified: erased sector/) } });
    const read = await runJob(t.client, { type: 'read', port: 't', partition: 'client_cert', length: 8 });
    expect(read.view.state, JSON.stringify(read.view.error)).toBe('succeeded');
  });

  it('a shutdown whose grace runs out stops the running job, which ends interrupted', async () => {
    const port = slowPort('s');
    const dir = tempDir('lim');
    cleanups.push(() => dir.remove());
    const t = await startTestStation({ ports: [port], dir: dir.path, config: { shutdownGraceMs: 0 } });
    await eventually(async () => (await t.client.getStatus()).ports[0]!.state === 'up', 'port up');
    const { id } = await t.client.submitJob({ type: 'update', port: 's', partition: 'client_cert', force: true, source: certItems });
    let erasing!: () => void;
    const reachedErase = new Promise<void>((resolve) => (erasing = resolve));
    const events: JobEvent[] = [];
    const end = t.client.streamEvents(id, (event) => {
      events.push(event);
      if (event.type === 'progress' && event.phase === 'erase') erasing();
    });
    await reachedErase;
    const stopped = t.stop();
    expect(await end).toMatchObject({ type: 'end', ok: false, error: { code: 'ABORTED', details: { deviceState: expect.stringMatching(/^modified/) } } });
    await stopped;
    const records = parseJournal(readFileSync(t.journal, 'utf8')).records;
    expect(records.find((r) => r.type === 'finished' && r.id === id)).toMatchObject({ state: 'interrupted', error: { code: 'ABORTED' } });
    expect(t.logs.some((line) => line.includes('shutdown grace ran out'))).toBe(true);
  });
});
