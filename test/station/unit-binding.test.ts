/**
 * A job belongs to the unit it was accepted for: after the port was lost, a job queued for unit A is
 * not run on unit B (or on something that cannot be identified) answering on the same path; it fails
 * with that reason and B receives no write. The same unit back on the port runs it (reconnect tests).
 */
import { symlinkSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { servePty, type PtyServerHandle } from '../../mock-device/index.js';
import { emulatedPort, eventually, finished, pem, removePorts, startTestStation, tempDir } from './support.js';

const certItems = { kind: 'items' as const, items: [{ type: 'cert' as const, pem: pem('device.crt') }] };
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

describe('a job belongs to a unit', () => {
  it('a job queued for unit A while the port was down is not run on unit B answering on the same path', async () => {
    const a = emulatedPort('a', { startup: 'off', mac: '24:0a:c4:aa:00:01' });
    const b = emulatedPort('b', { startup: 'off', mac: '24:0a:c4:bb:00:02', fill: 'garbage', seed: 3 });
    cleanups.push(() => removePorts([a, b]));
    const dir = tempDir('unit');
    cleanups.push(() => dir.remove());
    const link = join(dir.path, 'ttyBAY0');
    let pty: PtyServerHandle = await servePty(a.emulator);
    cleanups.push(() => pty.close());
    symlinkSync(pty.path, link);
    const t = await startTestStation({ ports: [{ name: 'bay', url: link }] });
    cleanups.push(() => t.stop());
    await eventually(async () => (await t.client.getStatus()).ports[0]!.state === 'up', 'port up');

    // Unit A leaves; a job is accepted while the port is down: it is A's.
    unlinkSync(link);
    a.emulator.unplug();
    await pty.close();
    await eventually(async () => (await t.client.getStatus()).ports[0]!.state === 'down', 'port down');
    const job = await t.client.submitJob({ type: 'update', port: 'bay', partition: 'client_cert', source: certItems });
    expect((await t.client.getJob(job.id)).state).toBe('queued');

    // Another unit answers on the same path.
    const before = Buffer.from(b.emulator.flashImage());
    pty = await servePty(b.emulator);
    symlinkSync(pty.path, link);
    const done = await finished(t.client, job.id);
    expect(done.state).toBe('failed');
    expect(done.error).toMatchObject({ code: 'WRONG_UNIT', details: { unit: '24:0a:c4:aa:00:01', found: '24:0a:c4:bb:00:02', deviceState: expect.stringMatching(/^unchanged/) } });
    expect(done.error!.message).toMatch(/accepted for unit 24:0a:c4:aa:00:01, but unit 24:0a:c4:bb:00:02 is on port bay now; not run/);
    expect(Buffer.from(b.emulator.flashImage()).equals(before)).toBe(true);
    expect(b.emulator.stats.flashBytesWritten + b.emulator.stats.flashBytesErased).toBe(0);

    // A job accepted now belongs to B and runs.
    const next = await t.client.submitJob({ type: 'update', port: 'bay', partition: 'client_cert', source: certItems });
    expect((await finished(t.client, next.id)).state).toBe('succeeded');
  });
});
