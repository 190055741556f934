/**
 * The daemon as a real process (`node dist/src/cli/main.js daemon --config ...`) driving an emulated
 * module over a pseudo-terminal: SIGTERM lets the running job finish and exits 0; kill -9 mid-job and
 * a restart report the job `interrupted` with what its partition holds.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { servePty, type PtyServerHandle } from '../../mock-device/index.js';
import { encodePkiBin } from '../../src/pki/bin-format.js';
import type { JobEvent } from '../../src/station/api-types.js';
import { StationClient } from '../../src/station/client.js';
import { parseJournal } from '../../src/station/journal.js';
import { cliPath, ensureBuilt } from '../cli/harness.js';
import { fixture } from '../pki/paths.js';
import { emulatedPort, eventually, finished, pem, raw, removePorts, tempDir, type EmulatedPort } from './support.js';

interface Daemon {
  child: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

let dir: { path: string; remove(): void };
let configPath: string;
let socket: string;
let journal: string;
let port: EmulatedPort;
let pty: PtyServerHandle;
const client = (): StationClient => new StationClient({ daemon: socket });
const running: ChildProcess[] = [];

beforeAll(async () => {
  ensureBuilt();
  dir = tempDir('proc');
  socket = join(dir.path, 'api.sock');
  journal = join(dir.path, 'journal.jsonl');
  configPath = join(dir.path, 'station.json');
  // Erases take a while, so a job is still running when the test acts on it.
  port = emulatedPort('p', { startup: 'off', fill: 'garbage', seed: 21, flashTiming: { sectorEraseMs: 400 } });
  pty = await servePty(port.emulator);
  writeFileSync(
    configPath,
    JSON.stringify({
      ports: [{ name: 'p', url: pty.path }],
      api: { socket: 'api.sock' },
      journal: 'journal.jsonl',
      logLevel: 'info',
      reconnect: { initialDelayMs: 50, maxDelayMs: 500 },
      shutdownGraceMs: 20_000,
    }),
  );
});

afterAll(async () => {
  for (const child of running) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await pty?.close();
  removePorts(port ? [port] : []);
  dir?.remove();
});

async function startDaemon(): Promise<Daemon> {
  const child = spawn(process.execPath, [cliPath, 'daemon', '--config', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  running.push(child);
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  await eventually(async () => {
    if (child.exitCode !== null) throw new Error(`daemon exited: ${output}`);
    const status = await client().getStatus();
    return status.ports[0]!.state === 'up';
  }, 'the daemon to serve with its port up');
  return { child, output: () => output, exited };
}

const certItems = { kind: 'items' as const, items: [{ type: 'cert' as const, pem: pem('device.crt') }] };
const keyItems = { kind: 'items' as const, items: [{ type: 'key' as const, pem: pem('device.key') }] };

describe('at-pki daemon as a process', () => {
  it('on SIGTERM finishes the running job, cancels the queued one, refuses new ones, exits 0', async () => {
    const daemon = await startDaemon();
    const first = await client().submitJob({ type: 'update', port: 'p', partition: 'client_cert', force: true, source: certItems });
    const second = await client().submitJob({ type: 'update', port: 'p', partition: 'client_key', source: keyItems });
    const events: JobEvent[] = [];
    let erasing!: () => void;
    const reachedErase = new Promise<void>((resolve) => (erasing = resolve));
    const firstEnd = client().streamEvents(first.id, (event) => {
      events.push(event);
      if (event.type === 'progress' && event.phase === 'erase') erasing();
    });
    await reachedErase;

    daemon.child.kill('SIGTERM');
    await eventually(async () => (await client().getStatus()).accepting === false, 'the daemon to stop accepting');
    const refused = await raw({ socket }, 'POST', '/jobs', { body: JSON.stringify({ type: 'partitions', port: 'p' }) });
    expect(refused.status).toBe(503);
    expect(refused.json.error.code).toBe('SHUTTING_DOWN');

    expect(await firstEnd).toMatchObject({ type: 'end', ok: true, result: { partition: 'client_cert', verified: true } });
    expect(await daemon.exited).toEqual({ code: 0, signal: null });
    expect(existsSync(socket)).toBe(false);
    const bin = encodePkiBin([{ type: 'cert', content: fixture('device.crt') }]);
    expect(port.emulator.readPartition('client_cert').subarray(0, bin.length)).toEqual(bin);

    const records = parseJournal(readFileSync(journal, 'utf8')).records;
    const outcome = (id: string) => records.find((r) => r.type === 'finished' && r.id === id);
    expect(outcome(first.id)).toMatchObject({ state: 'succeeded' });
    expect(outcome(second.id)).toMatchObject({ state: 'cancelled', error: { code: 'CANCELLED', details: { deviceState: 'unchanged: the job never started' } } });
    expect(records.some((r) => r.type === 'started' && r.id === second.id)).toBe(false);
    expect(records.at(-1)!.type).toBe('daemon-stop');
    expect(daemon.output()).toContain('"msg":"daemon stopped"');
  });

  it('after kill -9 mid-job, the restarted daemon reports the job interrupted and what the partition holds', async () => {
    // 1. Killed right after the first erase: the partition does not hold the new bin.
    let daemon = await startDaemon();
    const killAtFirstErase = (): void => {
      port.emulator.off('flashchange', killAtFirstErase);
      daemon.child.kill('SIGKILL');
    };
    port.emulator.on('flashchange', killAtFirstErase);
    const early = await client().submitJob({ type: 'update', port: 'p', partition: 'client_key', source: keyItems });
    expect((await daemon.exited).signal).toBe('SIGKILL');
    expect(existsSync(socket)).toBe(true); // left behind: the next daemon must cope

    // 2. Killed when the verification read-back starts: the partition holds the new bin.
    daemon = await startDaemon();
    const earlyView = await eventually(async () => {
      const view = await client().getJob(early.id);
      return view.recovery?.checkedAt ? view : undefined;
    }, 'the interrupted job to be checked');
    expect(earlyView).toMatchObject({
      state: 'interrupted',
      error: { code: 'INTERRUPTED', details: { deviceState: expect.stringContaining('does not hold') } },
      recovery: { partitionState: 'does-not-hold-new-bin' },
    });

    let wrote = false;
    const killAtVerify = (line: string): void => {
      if (line.startsWith('AT+SYSFLASH=1,')) wrote = true;
      if (wrote && line.startsWith('AT+SYSFLASH=2,')) {
        port.emulator.off('command', killAtVerify);
        daemon.child.kill('SIGKILL');
      }
    };
    port.emulator.on('command', killAtVerify);
    const late = await client().submitJob({ type: 'update', port: 'p', partition: 'mqtt_key', source: keyItems });
    expect((await daemon.exited).signal).toBe('SIGKILL');

    daemon = await startDaemon();
    const lateView = await eventually(async () => {
      const view = await client().getJob(late.id);
      return view.recovery?.checkedAt ? view : undefined;
    }, 'the second interrupted job to be checked');
    expect(lateView).toMatchObject({ state: 'interrupted', recovery: { partitionState: 'holds-new-bin' } });
    expect(await client().getJob(early.id)).toMatchObject({ state: 'interrupted', recovery: { partitionState: 'does-not-hold-new-bin' } });

    // The port works normally afterwards: run the first job again.
    const redo = await client().submitJob({ type: 'update', port: 'p', partition: 'client_key', source: keyItems });
    expect((await finished(client(), redo.id)).state).toBe('succeeded');

    daemon.child.kill('SIGTERM');
    expect((await daemon.exited).code).toBe(0);
    const records = parseJournal(readFileSync(journal, 'utf8')).records;
    for (const id of [early.id, late.id]) {
      expect(records.filter((r) => r.type === 'finished' && r.id === id).map((r) => (r as { state: string }).state)).toEqual(['interrupted']);
      expect(records.filter((r) => r.type === 'checked' && r.id === id)).toHaveLength(1);
    }
  });
});
