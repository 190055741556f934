/**
 * Jobs through the daemon on several emulated modules at once (two in-process, one behind a real
 * pseudo-terminal): every job type, the event stream's shapes, queueing per port and parallelism
 * across ports, cancelling, and the metrics they leave behind.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { servePty, type PtyServerHandle } from '../../mock-device/index.js';
import { encodePkiBin } from '../../src/pki/bin-format.js';
import type { JobEvent, JobView } from '../../src/station/api-types.js';
import { fixture } from '../pki/paths.js';
import { emulatedPort, eventually, finished, pem, raw, removePorts, runJob, startTestStation, type EmulatedPort, type TestStation } from './support.js';

let a: EmulatedPort;
let b: EmulatedPort;
let c: EmulatedPort;
let slow: EmulatedPort;
let pty: PtyServerHandle;
let t: TestStation;

beforeAll(async () => {
  a = emulatedPort('a', { fill: 'garbage', seed: 5 });
  b = emulatedPort('b', { chip: 'esp32' });
  c = emulatedPort('c', { startup: 'off' });
  // Erases take long on this one, so a job is reliably still running while the test looks at it.
  slow = emulatedPort('slow', { flashTiming: { sectorEraseMs: 1500 } });
  pty = await servePty(c.emulator);
  t = await startTestStation({
    ports: [a, b, { name: 'c', url: pty.path }, slow],
  });
  await eventually(async () => (await t.client.getStatus()).ports.every((p) => p.state === 'up'), 'all ports up');
});

afterAll(async () => {
  await t?.stop();
  await pty?.close();
  removePorts([a, b, c, slow]);
});

const items = {
  cert: [{ type: 'cert' as const, pem: pem('device.crt') }],
  key: [{ type: 'key' as const, pem: pem('device.key') }],
  ca: [{ type: 'ca' as const, pem: pem('ca.crt') }],
};
const binOf = (name: 'device.crt' | 'device.key' | 'ca.crt', type: 'cert' | 'key' | 'ca'): Buffer => encodePkiBin([{ type, content: fixture(name) }]);

const PROGRESS_PHASES = ['connect', 'compare', 'erase', 'write', 'read', 'verify'];

/** Each event has exactly the fields of its shape (the CLI's --json shapes). */
function checkShapes(events: JobEvent[], operation: string, port: string, partition?: string): void {
  expect(events[0]).toEqual({ type: 'begin', operation, port, ...(partition ? { partition } : {}) });
  const end = events.at(-1)!;
  expect(end.type).toBe('end');
  expect(events.filter((e) => e.type === 'end' || e.type === 'begin')).toHaveLength(2);
  const lastTotal = new Map<string, number>();
  // Each phase's events come in one run, in order (no erase, write, erase again).
  const phases = events.flatMap((e) => (e.type === 'progress' ? [e.phase] : []));
  const runs = phases.filter((phase, i) => phase !== phases[i - 1]);
  expect(new Set(runs).size, `phases ${runs.join(', ')}`).toBe(runs.length);
  for (const event of events.slice(1, -1)) {
    if (event.type === 'progress') {
      expect(Object.keys(event).sort()).toEqual(['done', 'phase', 'total', 'type', 'unit']);
      expect(PROGRESS_PHASES).toContain(event.phase);
      expect(['bytes', 'sectors']).toContain(event.unit);
      expect(event.done).toBeLessThanOrEqual(event.total);
      // A phase's total never shrinks (a bar that jumps from 4096 to 64 reports nothing true).
      const previous = lastTotal.get(event.phase);
      if (previous !== undefined) expect(event.total, `${event.phase} total`).toBeGreaterThanOrEqual(previous);
      lastTotal.set(event.phase, event.total);
    } else if (event.type === 'log') {
      expect(Object.keys(event).sort()).toEqual(['level', 'message', 'type']);
      expect(['info', 'warn']).toContain(event.level);
    } else {
      throw new Error(`unexpected event ${JSON.stringify(event)}`);
    }
  }
  if (end.type === 'end') expect(Object.keys(end).sort()).toEqual(end.ok ? ['ok', 'result', 'type'] : ['error', 'ok', 'type']);
}

describe('jobs on three ports in parallel', () => {
  it('updates each module, and the partitions hold exactly the bins', async () => {
    const [ra, rb, rc] = await Promise.all([
      runJob(t.client, { type: 'update', port: 'a', partition: 'client_cert', source: { kind: 'items', items: items.cert } }),
      runJob(t.client, { type: 'update', port: 'b', partition: 'client_key', source: { kind: 'items', items: items.key } }),
      runJob(t.client, { type: 'update', port: 'c', partition: 'client_ca', source: { kind: 'inline-bin', base64: binOf('ca.crt', 'ca').toString('base64') } }),
    ]);
    const expectations: [typeof ra, EmulatedPort, string, Buffer][] = [
      [ra, a, 'client_cert', binOf('device.crt', 'cert')],
      [rb, b, 'client_key', binOf('device.key', 'key')],
      [rc, c, 'client_ca', binOf('ca.crt', 'ca')],
    ];
    for (const [run, port, label, bin] of expectations) {
      expect(run.view.state, `${port.name}: ${JSON.stringify(run.view.error)}`).toBe('succeeded');
      expect(run.view.result).toMatchObject({ partition: label, verified: true, unchanged: false, binBytes: bin.length });
      expect(run.view.request.bin).toEqual({ sha256: createHash('sha256').update(bin).digest('hex'), bytes: bin.length, items: 1, source: run === rc ? 'inline-bin' : 'items' });
      checkShapes(run.events, 'update', port.name, label);
      const content = port.emulator.readPartition(label);
      expect(content.subarray(0, bin.length)).toEqual(bin);
      expect(content.subarray(Math.ceil(bin.length / 4) * 4).every((byte) => byte === 0xff)).toBe(true);
    }
  });

  it('writes nothing the second time', async () => {
    await a.emulator.whenIdle();
    const before = { ...a.emulator.stats };
    const run = await runJob(t.client, { type: 'update', port: 'a', partition: 'client_cert', source: { kind: 'items', items: items.cert } });
    // Nothing written; at 115200 the sector after the bin is erased rather than read (exact and cheaper).
    expect(run.view.result).toMatchObject({ bytesWritten: 0 });
    expect(a.emulator.stats.flashBytesWritten).toBe(before.flashBytesWritten);
  });

  it('verifies: match, or the first differing offset, without writing', async () => {
    await c.emulator.whenIdle();
    const written = c.emulator.stats.flashBytesWritten;
    const same = await runJob(t.client, { type: 'verify', port: 'c', partition: 'client_ca', source: { kind: 'items', items: items.ca } });
    expect(same.view.result).toMatchObject({ partition: 'client_ca', match: true, length: binOf('ca.crt', 'ca').length });
    checkShapes(same.events, 'verify', 'c', 'client_ca');
    const other = await runJob(t.client, { type: 'verify', port: 'c', partition: 'client_ca', source: { kind: 'items', items: [{ type: 'ca', pem: pem('rsa.crt') }] } });
    expect(other.view.result!.match).toBe(false);
    const expected = encodePkiBin([{ type: 'ca', content: fixture('rsa.crt') }]);
    const actual = c.emulator.readPartition('client_ca');
    let first = 0;
    while (expected[first] === actual[first]) first++;
    expect(other.view.result!.firstDifference).toBe(first);
    expect(c.emulator.stats.flashBytesWritten).toBe(written);
  });

  it('reads: the bytes come in the job (base64), never in its events', async () => {
    const run = await runJob(t.client, { type: 'read', port: 'b', partition: 'client_key', offset: 4, length: 100 });
    const data = Buffer.from(run.view.result!.data as string, 'base64');
    expect(data).toEqual(b.emulator.readPartition('client_key').subarray(4, 104));
    expect(run.view.result).toMatchObject({ partition: 'client_key', offset: 4, length: 100, sha256: createHash('sha256').update(data).digest('hex') });
    checkShapes(run.events, 'read', 'b', 'client_key');
    const end = run.events.at(-1)!;
    expect(end.type === 'end' && end.ok && 'data' in end.result).toBe(false);
    expect(JSON.stringify(run.events)).not.toContain(run.view.result!.data as string);
    expect(run.events.some((e) => e.type === 'progress' && e.phase === 'read' && e.done === 100)).toBe(true);
  });

  it('lists partitions', async () => {
    const run = await runJob(t.client, { type: 'partitions', port: 'c' });
    const partitions = run.view.result!.partitions as { label: string; size: number }[];
    expect(partitions.map((p) => p.label)).toEqual(c.emulator.partitions().map((p) => p.label));
    expect(run.view.result!.firmware).toMatchObject({ atVersion: '2.4.0.0' });
    checkShapes(run.events, 'partitions', 'c');
  });

  it('replays the past events of a finished job', async () => {
    const run = await runJob(t.client, { type: 'partitions', port: 'a' });
    const again: JobEvent[] = [];
    await t.client.streamEvents(run.id, (event) => again.push(event));
    expect(again).toEqual(run.events);
    const text = (await raw({ socket: t.socket }, 'GET', `/jobs/${run.id}/events`)).text;
    expect(text.trim().split('\n').map((line) => JSON.parse(line))).toEqual(run.events);
  });
});

describe('a module that keeps credentials in mfg_nvs (ESP-AT >= 3.1)', () => {
  it('carries the validation warnings in the end result, as the CLI does', async () => {
    const run = await runJob(t.client, { type: 'update', port: 'b', partition: 'client_ca', source: { kind: 'items', items: [{ type: 'ca', pem: pem('expired.crt') }] } });
    expect(run.view.state, JSON.stringify(run.view.error)).toBe('succeeded');
    const end = run.events.at(-1)!;
    expect(end.type === 'end' && end.ok && end.result.warnings).toEqual([expect.stringMatching(/expired/)]);
    expect(run.view.result!.warnings).toEqual(run.view.warnings);
    const quiet = await runJob(t.client, { type: 'update', port: 'b', partition: 'client_ca', source: { kind: 'items', items: items.ca } });
    expect(quiet.view.result!.warnings).toEqual([]);
  });

  it('updates a non-credential partition only when the job says anyPartition', async () => {
    const bin = binOf('device.crt', 'cert');
    const refused = await raw({ socket: t.socket }, 'POST', '/jobs', { body: JSON.stringify({ type: 'update', port: 'b', partition: 'fatfs', source: { kind: 'items', items: items.cert } }) });
    expect(refused.status).toBe(400);
    expect(refused.json.error).toMatchObject({ code: 'NOT_A_CREDENTIAL_PARTITION', details: { partition: 'fatfs', type: 1, subtype: 129 } });
    const run = await runJob(t.client, { type: 'update', port: 'b', partition: 'fatfs', anyPartition: true, source: { kind: 'items', items: items.cert } });
    expect(run.view.state, JSON.stringify(run.view.error)).toBe('succeeded');
    expect(b.emulator.readPartition('fatfs').subarray(0, bin.length)).toEqual(bin);
  });

  it('a job that fails before any erase or write command went out says the module is unchanged', async () => {
    const bin = binOf('device.crt', 'cert');
    const f = emulatedPort('f', { chip: 'esp32' });
    f.emulator.writeRaw('client_cert', 0, bin);
    const s = await startTestStation({ ports: [{ name: 'f', url: f.url, timeoutMs: 500 }] });
    try {
      await eventually(async () => (await s.client.getStatus()).ports[0]!.state === 'up', 'port up');
      // Same first bytes as what the module holds, then a difference: the comparison reads on,
      // and that second read is refused (one that got no answer would be retried).
      const other = Buffer.from(fixture('device.crt'));
      other[other.length - 40] ^= 0x01;
      f.emulator.setFaults({ seed: 1, error: { match: 'SYSFLASH=2', at: [2] } });
      const run = await runJob(s.client, { type: 'update', port: 'f', partition: 'client_cert', validate: false, source: { kind: 'items', items: [{ type: 'cert', base64: other.toString('base64') }] } });
      expect(run.view.state).toBe('failed');
      expect(run.view.error!.details!.deviceState).toBe('unchanged: nothing was erased or written on client_cert');
      expect(run.view.error!.message).toMatch(/\[module unchanged: nothing was erased or written on client_cert\]$/);
      expect(f.emulator.readPartition('client_cert').subarray(0, bin.length)).toEqual(bin);
    } finally {
      await s.stop();
      removePorts([f]);
    }
  });

  it('updates a namespace instead of a partition, and refuses a name that is not a PKI namespace', async () => {
    const m = emulatedPort('m', { firmware: '3.2.0.0' });
    const s = await startTestStation({ ports: [m] });
    try {
      await eventually(async () => (await s.client.getStatus()).ports[0]!.state === 'up', 'port up');
      expect((await s.client.getStatus()).ports[0]!.storage).toBe('mfg_nvs');
      expect((await s.client.getPartitions('m')).storage).toBe('mfg_nvs');
      const run = await runJob(s.client, { type: 'update', port: 'm', partition: 'client_cert', source: { kind: 'items', items: items.cert } });
      expect(run.view.state, JSON.stringify(run.view.error)).toBe('succeeded');
      expect(run.view.result).toMatchObject({ storage: 'mfg_nvs', namespace: 'client_cert', verified: true });
      expect(m.emulator.readMfg('client_cert', 'client_cert.0')!.bytes).toEqual(fixture('device.crt'));
      await m.emulator.whenIdle();
      const before = JSON.stringify(m.emulator.stats);
      const refused = await raw({ socket: s.socket }, 'POST', '/jobs', {
        body: JSON.stringify({ type: 'update', port: 'm', partition: 'not_pki', source: { kind: 'items', items: items.cert } }),
      });
      expect(refused.status).toBe(400);
      expect(refused.json.error.message).toContain('is not a PKI namespace');
      expect(JSON.stringify(m.emulator.stats)).toBe(before);
    } finally {
      await s.stop();
      removePorts([m]);
    }
  });
});

describe('one job at a time per port, ports in parallel', () => {
  it('queues, cancels only queued jobs, and keeps other ports going', async () => {
    const first = await t.client.submitJob({ type: 'update', port: 'slow', partition: 'client_cert', force: true, source: { kind: 'items', items: items.cert } });
    // Follow it until it is erasing (slow on this module): it is running now, and stays so for a while.
    const firstEvents: JobEvent[] = [];
    let erasing!: () => void;
    const reachedErase = new Promise<void>((resolve) => (erasing = resolve));
    const firstEnd = t.client.streamEvents(first.id, (event) => {
      firstEvents.push(event);
      if (event.type === 'progress' && event.phase === 'erase') erasing();
    });
    await reachedErase;

    const second = await t.client.submitJob({ type: 'update', port: 'slow', partition: 'client_key', source: { kind: 'items', items: items.key } });
    const third = await t.client.submitJob({ type: 'partitions', port: 'slow' });
    const status = await t.client.getStatus();
    const slowStatus = status.ports.find((p) => p.name === 'slow')!;
    expect(slowStatus.currentJob).toMatchObject({ id: first.id, type: 'update', partition: 'client_cert' });
    expect(slowStatus.queued).toBe(2);
    expect((await t.client.getJob(third.id)).position).toBe(2);

    // Another port is not held up by this one.
    const other = await runJob(t.client, { type: 'partitions', port: 'b' });
    expect(other.view.state).toBe('succeeded');
    expect((await t.client.getJob(first.id)).state).toBe('running');

    // A running job is not torn off; a queued one is cancelled without touching the module.
    const refuse = await raw({ socket: t.socket }, 'DELETE', `/jobs/${first.id}`);
    expect(refuse.status).toBe(409);
    expect(refuse.json.error.code).toBe('JOB_RUNNING');
    const cancelled = await raw({ socket: t.socket }, 'DELETE', `/jobs/${second.id}`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.json).toMatchObject({ id: second.id, state: 'cancelled', error: { code: 'CANCELLED', details: { deviceState: expect.stringMatching(/^unchanged/) } } });
    expect(cancelled.json.startedAt).toBeUndefined();
    expect((await t.client.getJob(third.id)).position).toBe(1);
    const secondEvents: JobEvent[] = [];
    const secondEnd = await t.client.streamEvents(second.id, (e) => secondEvents.push(e));
    expect(secondEvents).toEqual([secondEnd]);
    expect(secondEnd).toMatchObject({ type: 'end', ok: false, error: { code: 'CANCELLED' } });

    expect(await firstEnd).toMatchObject({ type: 'end', ok: true, result: { partition: 'client_cert', verified: true } });
    checkShapes(firstEvents, 'update', 'slow', 'client_cert');
    const [firstView, thirdView] = (await Promise.all([finished(t.client, first.id), finished(t.client, third.id)])) as [JobView, JobView];
    expect(thirdView.state).toBe('succeeded');
    // Strictly one after the other on the port.
    expect(Date.parse(thirdView.startedAt!)).toBeGreaterThanOrEqual(Date.parse(firstView.finishedAt!));
    expect(slow.emulator.readPartition('client_key').subarray(0, 2)).not.toEqual(Buffer.from([0xf1, 0xf1]));

    const again = await raw({ socket: t.socket }, 'DELETE', `/jobs/${first.id}`);
    expect(again.status).toBe(409);
    expect(again.json.error.code).toBe('JOB_FINISHED');
  });

  it('exposes the metrics series', async () => {
    const text = await t.client.getMetrics();
    expect(text).toMatch(/^at_command_duration_seconds_bucket\{.*command="AT\+SYSFLASH".*result="ok".*\} [1-9]/m);
    expect(text).toMatch(/^at_command_duration_seconds_count\{command="AT\+SYSFLASH",result="ok"\} [1-9]/m);
    expect(text).toMatch(/^jobs_total\{type="update",result="succeeded"\} 8$/m);
    expect(text).toMatch(/^jobs_total\{type="verify",result="succeeded"\} 2$/m);
    expect(text).toMatch(/^jobs_total\{type="partitions",result="succeeded"\} 4$/m);
    expect(text).toMatch(/^jobs_total\{type="update",result="cancelled"\} 1$/m);
    expect(text).toMatch(/^jobs_total\{type="read",result="succeeded"\} 1$/m);
    expect(text).toMatch(/^jobs_total\{type="verify",result="failed"\} 0$/m);
    const written = Number(/^flash_bytes_written_total (\d+)$/m.exec(text)?.[1]);
    const jobs = await t.client.listJobs();
    const reported = jobs.reduce((sum, job) => sum + Number(job.result?.bytesWritten ?? 0), 0);
    expect(reported).toBeGreaterThan(0);
    expect(written).toBe(reported);
    for (const port of ['a', 'b', 'c', 'slow']) {
      expect(text).toContain(`serial_port_up{port="${port}"} 1`);
      expect(text).toContain(`serial_reconnects_total{port="${port}"} 0`);
      expect(text).toContain(`module_resets_total{port="${port}"} 0`);
      expect(text).toContain(`jobs_queued{port="${port}"} 0`);
    }
    expect(text).toMatch(/^process_resident_memory_bytes \d+/m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds /m);
  });
});
