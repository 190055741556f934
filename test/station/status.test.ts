/** `at-pki status --daemon` (the built CLI against an in-process daemon) and the client's conveniences. */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatStatus } from '../../src/cli/commands/status.js';
import type { JobEvent } from '../../src/station/api-types.js';
import { cliPath, ensureBuilt } from '../cli/harness.js';
import { emulatedPort, eventually, pem, removePorts, startTestStation, type EmulatedPort, type TestStation } from './support.js';

const TOKEN = 'status-token-0123456789';
let a: EmulatedPort;
let t: TestStation;

beforeAll(async () => {
  ensureBuilt();
  a = emulatedPort('a');
  t = await startTestStation({ ports: [a, { name: 'gone', url: '/dev/at-pki-test-no-such-tty' }], config: { api: { socket: 'api.sock', tcp: { port: 0 }, token: TOKEN } } });
  await eventually(async () => {
    const status = await t.client.getStatus();
    return status.ports[0]!.state === 'up' && status.ports[1]!.state === 'down';
  }, 'a up, gone down');
});

afterAll(async () => {
  await t?.stop();
  removePorts([a]);
});

/** The CLI, asynchronously (the daemon lives in this process: a blocking spawn would deadlock it). */
async function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [cliPath, ...args], { env: { ...process.env, AT_PKI_DEBUG: '', ...env } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('at-pki status', () => {
  it('prints the ports table', async () => {
    const run = await cli(['status', '--daemon', t.socket]);
    expect(run.code).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^at-pki daemon test \(pid \d+\), up \d+s, accepting jobs; jobs: 0 running, 0 queued, 0 interrupted$/);
    expect(lines[1]).toMatch(/^port\s+state\s+for\s+firmware\s+job\s+queued\s+reconnects\s+resets\s+url$/);
    expect(lines[2]).toMatch(/^a\s+up\s+\d+s\s+2\.4\.0\.0\s+-\s+0\s+0\s+0\s+mock:\/\//);
    expect(lines[3]).toMatch(/^gone\s+down\s+.*\/dev\/at-pki-test-no-such-tty$/);
    expect(lines[4]).toMatch(/^gone: /);
  });

  it('--json prints the status as the end record; TCP takes the token from the environment', async () => {
    const run = await cli(['status', '--daemon', `http://127.0.0.1:${t.station.tcpAddress!.port}`, '--json'], { AT_PKI_TOKEN: TOKEN });
    expect(run.code).toBe(0);
    const end = JSON.parse(run.stdout.trim().split('\n').at(-1)!);
    expect(end).toMatchObject({ type: 'end', ok: true, result: { version: 'test', ports: [{ name: 'a', state: 'up' }, { name: 'gone', state: 'down' }] } });
  });

  it('fails in one line with exit 2 without --daemon, with a wrong token, or with no daemon', async () => {
    for (const [args, env, message] of [
      [['status'], { AT_PKI_DAEMON: '' }, /give the daemon with --daemon/],
      [['status', '--daemon', `http://127.0.0.1:${t.station.tcpAddress!.port}`, '--token', 'wrong-token-123456789'], {}, /the daemon refused the request: send Authorization: Bearer/],
      [['status', '--daemon', join(t.dir, 'none.sock')], {}, /cannot reach the at-pki daemon at .*none\.sock/],
    ] as const) {
      const run = await cli([...args], env);
      expect(run.code, run.stderr).toBe(2);
      const lines = run.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(message);
    }
  });

  it('shows the current job', () => {
    const now = Date.parse('2026-01-01T00:01:00Z');
    const text = formatStatus(
      {
        version: '1',
        pid: 7,
        startedAt: '2026-01-01T00:00:00Z',
        uptimeSeconds: 3725,
        accepting: false,
        jobs: { queued: 2, running: 1, interrupted: 0 },
        ports: [{ name: 'a', url: '/dev/ttyUSB0', state: 'up', since: '2026-01-01T00:00:00Z', reconnects: 1, resets: 0, queued: 2, currentJob: { id: '0123456789ab', type: 'update', partition: 'client_cert', startedAt: '2026-01-01T00:00:48Z' } }],
      },
      now,
    );
    expect(text).toContain('up 1h02m, shutting down; jobs: 1 running, 2 queued');
    expect(text).toMatch(/a\s+up\s+1m00s\s+-\s+update client_cert 01234567 \(12s\)\s+2\s+1\s+0\s+\/dev\/ttyUSB0/);
  });
});

describe('StationClient', () => {
  it('runs a job and follows it to its end', async () => {
    const events: JobEvent[] = [];
    const { id, end } = await t.client.runJob({ type: 'update', port: 'a', partition: 'client_cert', source: { kind: 'items', items: [{ type: 'cert', pem: pem('device.crt') }] } }, (e) => events.push(e));
    expect(end).toMatchObject({ type: 'end', ok: true });
    expect(events[0]).toEqual({ type: 'begin', operation: 'update', port: 'a', partition: 'client_cert' });
    expect((await t.client.getJob(id)).state).toBe('succeeded');
  });

  it('stops following when its signal fires', async () => {
    // A job on the down port waits (queued) for a long time: a good stream to walk away from.
    const { id } = await t.client.submitJob({ type: 'partitions', port: 'gone' });
    const controller = new AbortController();
    const following = t.client.streamEvents(id, () => {});
    const aborted = t.client.streamEvents(id, () => {}, { signal: controller.signal });
    controller.abort();
    await expect(aborted).rejects.toMatchObject({ code: 'ABORTED' });
    const cancelled = await t.client.cancelJob(id);
    expect(cancelled.state).toBe('cancelled');
    expect(await following).toMatchObject({ type: 'end', ok: false, error: { code: 'CANCELLED' } });
  });
});
