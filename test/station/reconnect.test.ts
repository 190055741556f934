/**
 * Ports that go away and come back: an unplug mid-job (in-process and over a pty), jobs that wait
 * for a down port (and fail after jobs.portWaitMs), module restarts noticed and counted.
 */
import { symlinkSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { servePty, type PtyServerHandle } from '../../mock-device/index.js';
import { encodePkiBin } from '../../src/pki/bin-format.js';
import { fixture } from '../pki/paths.js';
import { emulatedPort, eventually, finished, pem, raw, removePorts, runJob, startTestStation, tempDir, type EmulatedPort, type TestStation } from './support.js';

const certItems = { kind: 'items' as const, items: [{ type: 'cert' as const, pem: pem('device.crt') }] };
const certBin = encodePkiBin([{ type: 'cert', content: fixture('device.crt') }]);

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function station(ports: Parameters<typeof startTestStation>[0]['ports'], config?: Record<string, unknown>, emulators: EmulatedPort[] = []): Promise<TestStation> {
  const t = await startTestStation({ ports, config });
  cleanups.push(() => removePorts(emulators));
  cleanups.push(() => t.stop());
  return t;
}

async function portState(t: TestStation, name: string) {
  return (await t.client.getStatus()).ports.find((p) => p.name === name)!;
}

describe('unplug mid-job', () => {
  it('in-process: the job fails saying what was done, the port comes back and takes jobs again', async () => {
    const a = emulatedPort('a', { fill: 'garbage', seed: 9 });
    const t = await station([a], {}, [a]);
    await eventually(async () => (await portState(t, 'a')).state === 'up', 'port up');

    const pull = (): void => {
      a.emulator.off('flashchange', pull);
      a.emulator.unplug();
    };
    a.emulator.on('flashchange', pull);
    const run = await runJob(t.client, { type: 'update', port: 'a', partition: 'client_cert', source: certItems });
    expect(run.view.state).toBe('failed');
    expect(run.view.error).toMatchObject({ code: 'DISCONNECTED', details: { deviceState: expect.stringMatching(/^modified: erased sector/) } });
    expect(run.view.error!.message).toMatch(/\[module modified: .*run the operation again\]$/);
    expect(run.events.at(-1)).toEqual({ type: 'end', ok: false, error: run.view.error });

    await eventually(async () => {
      const port = await portState(t, 'a');
      return port.state === 'up' && port.reconnects === 1;
    }, 'port a back up');
    expect(await t.client.getMetrics()).toContain('serial_reconnects_total{port="a"} 1');

    const again = await runJob(t.client, { type: 'update', port: 'a', partition: 'client_cert', source: certItems });
    expect(again.view.state).toBe('succeeded');
    expect(a.emulator.readPartition('client_cert').subarray(0, certBin.length)).toEqual(certBin);
  });

  it('over a pty: the port is down while unplugged, a job queued meanwhile waits and runs after the replug', async () => {
    const p = emulatedPort('p', { startup: 'off' });
    const dir = tempDir('pty');
    cleanups.push(() => dir.remove());
    // A stable name for the port, like /dev/serial/by-id/...: it disappears on unplug and comes back.
    const link = join(dir.path, 'ttyEMU0');
    let pty: PtyServerHandle = await servePty(p.emulator);
    cleanups.push(() => pty.close());
    symlinkSync(pty.path, link);
    const t = await station([{ name: 'p', url: link }], {}, [p]);
    await eventually(async () => (await portState(t, 'p')).state === 'up', 'port up');

    const pull = (): void => {
      p.emulator.off('flashchange', pull);
      unlinkSync(link);
      p.emulator.unplug();
    };
    p.emulator.on('flashchange', pull);
    const run = await runJob(t.client, { type: 'update', port: 'p', partition: 'client_cert', source: certItems });
    expect(run.view.state).toBe('failed');
    expect(run.view.error).toMatchObject({ code: 'DISCONNECTED', details: { deviceState: expect.stringMatching(/^modified/) } });

    const down = await eventually(async () => {
      const port = await portState(t, 'p');
      return port.state === 'down' ? port : undefined;
    }, 'port p down');
    expect(down.lastError?.message).toBeTruthy();
    expect(await t.client.getMetrics()).toContain('serial_port_up{port="p"} 0');

    const waiting = await t.client.submitJob({ type: 'update', port: 'p', partition: 'client_cert', source: certItems });
    const view = await t.client.getJob(waiting.id);
    expect(view).toMatchObject({ state: 'queued', position: 0 });
    expect((await portState(t, 'p')).queued).toBe(1);

    pty = await servePty(p.emulator);
    symlinkSync(pty.path, link);
    const done = await finished(t.client, waiting.id);
    expect(done.state).toBe('succeeded');
    expect(p.emulator.readPartition('client_cert').subarray(0, certBin.length)).toEqual(certBin);
    const port = await portState(t, 'p');
    expect(port).toMatchObject({ state: 'up', reconnects: 1, queued: 0 });
  });
});

describe('a port that does not come up', () => {
  it('fails waiting jobs after jobs.portWaitMs, without touching anything', async () => {
    const dir = tempDir('gone');
    cleanups.push(() => dir.remove());
    const t = await station([{ name: 'gone', url: join(dir.path, 'ttyUSB9') }], { jobs: { portWaitMs: 200 } });
    const down = await eventually(async () => {
      const port = await portState(t, 'gone');
      return port.state === 'down' ? port : undefined;
    }, 'port reported down');
    expect(down.lastError?.code).toBe('PORT_UNAVAILABLE');
    const partitions = await raw({ socket: t.socket }, 'GET', '/ports/gone/partitions');
    expect(partitions.status).toBe(503);
    expect(partitions.json.error.code).toBe('PORT_UNAVAILABLE');

    // The table is not known: the job is accepted and waits for the port.
    const { id } = await t.client.submitJob({ type: 'read', port: 'gone', partition: 'client_cert', length: 16 });
    const view = await finished(t.client, id);
    expect(view.state).toBe('failed');
    expect(view.startedAt).toBeUndefined();
    expect(view.error).toMatchObject({ code: 'PORT_UNAVAILABLE', message: expect.stringContaining('jobs.portWaitMs'), details: { deviceState: expect.stringMatching(/^unchanged/) } });
  });
});

describe('module restarts', () => {
  it('are noticed and counted; the port re-syncs and keeps working', async () => {
    const r = emulatedPort('r');
    const t = await station([r], {}, [r]);
    await eventually(async () => (await portState(t, 'r')).state === 'up', 'port up');
    await r.emulator.whenIdle();
    const boots = r.emulator.stats.boots;
    r.emulator.reset();
    await eventually(async () => (await portState(t, 'r')).resets === 1, 'reset noticed');
    expect(r.emulator.stats.boots).toBe(boots + 1);
    expect(await t.client.getMetrics()).toContain('module_resets_total{port="r"} 1');
    expect(t.logs.some((line) => line.includes('"msg":"module restarted"'))).toBe(true);
    const run = await runJob(t.client, { type: 'update', port: 'r', partition: 'client_cert', source: certItems });
    expect(run.view.state).toBe('succeeded');
  });

  it('in the middle of a job: the job fails with the device state, and its events say why', async () => {
    const r = emulatedPort('r2', { fill: 'garbage' });
    const t = await station([r], {}, [r]);
    await eventually(async () => (await portState(t, 'r2')).state === 'up', 'port up');
    const restart = (): void => {
      r.emulator.off('flashchange', restart);
      r.emulator.reset();
    };
    r.emulator.on('flashchange', restart);
    const run = await runJob(t.client, { type: 'update', port: 'r2', partition: 'client_cert', source: certItems });
    expect(run.view.state).toBe('failed');
    expect(run.view.error).toMatchObject({ code: 'DEVICE_ERROR', details: { deviceState: expect.stringMatching(/^modified/) } });
    expect(run.events).toContainEqual({ type: 'log', level: 'warn', message: expect.stringContaining('restarted') });
    expect((await portState(t, 'r2')).resets).toBeGreaterThanOrEqual(1);
    const again = await runJob(t.client, { type: 'update', port: 'r2', partition: 'client_cert', source: certItems });
    expect(again.view.state).toBe('succeeded');
  });
});

describe('a module left in data mode behind the daemon (issue 12, finding 3)', () => {
  it('is freed with 0xFF: the port recovers and takes jobs again', async () => {
    const a = emulatedPort('a', { fill: 'garbage', seed: 5 });
    const t = await station([a], {}, [a]);
    await eventually(async () => (await portState(t, 'a')).state === 'up', 'port up');
    // Another program (or a cut line) started a write and never sent its data: the module waits.
    a.emulator.receive(Buffer.from('AT+SYSFLASH=1,"client_ca",0,4096\r\n', 'latin1'));
    await eventually(async () => a.emulator.state === 'raw', 'module in data mode');
    a.emulator.receive(Buffer.alloc(100, 0x41));
    const first = await runJob(t.client, { type: 'update', port: 'a', partition: 'client_cert', source: certItems });
    if (first.view.state === 'failed') expect(first.view.error!.message).toMatch(/\[module /);
    const again = first.view.state === 'succeeded' ? first : await runJob(t.client, { type: 'update', port: 'a', partition: 'client_cert', source: certItems });
    expect(again.view.state).toBe('succeeded');
    expect(a.emulator.state).toBe('command');
    expect(a.emulator.readPartition('client_cert').subarray(0, certBin.length)).toEqual(certBin);
  }, 120_000);
});
