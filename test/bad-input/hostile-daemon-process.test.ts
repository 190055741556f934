/**
 * The daemon as a real process (`at-pki daemon --config …`, an emulated module inside it) against
 * FIFOs and slow clients: FIFOs named by jobs (more than libuv has threads) are refused at once and
 * block nothing — /status and new jobs are served, SIGTERM stops it with exit 0 even with a slow
 * client connected. A config, journal or token file that is a FIFO is one line and exit 2 at start.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StationClient } from '../../src/station/client.js';
import { cliPath, ensureBuilt, expectOneLineError, runCliAsync } from '../cli/harness.js';
import { eventually, finished, pem, raw, tempDir } from '../station/support.js';

let dir: { path: string; remove(): void };
let allowed: string;
const at = (name: string): string => join(dir.path, name);

beforeAll(() => {
  ensureBuilt();
  dir = tempDir('hproc');
  allowed = at('allowed');
  mkdirSync(join(allowed, 'fifo-dir', 'client_cert'), { recursive: true });
  execFileSync('mkfifo', [join(allowed, 'fifo.bin'), join(allowed, 'fifo.crt'), join(allowed, 'fifo-dir', 'client_cert', 'a.crt'), at('config.fifo'), at('journal.fifo'), at('token.fifo')]);
});

afterAll(() => dir?.remove());

function config(name: string, fields: Record<string, unknown> = {}): string {
  const path = at(name);
  writeFileSync(path, JSON.stringify({ ports: [{ name: 'a', url: 'mock://esp32c3' }], api: { socket: 'api.sock' }, journal: 'journal.jsonl', jobs: { fileRoots: [allowed] }, ...fields }));
  return path;
}

describe('at-pki daemon (process) and FIFOs', () => {
  it('FIFO sources are refused at once; /status and new jobs are served; SIGTERM with a slow client connected exits 0', async () => {
    const child = spawn(process.execPath, [cliPath, 'daemon', '--config', config('station.json', { api: { socket: 'api.sock', headersTimeoutMs: 60_000, requestTimeoutMs: 120_000 } })], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    try {
      const socket = at('api.sock');
      const client = new StationClient({ daemon: socket });
      await eventually(async () => {
        if (child.exitCode !== null) throw new Error(`daemon exited: ${output}`);
        return (await client.getStatus()).ports[0]!.state === 'up';
      }, 'the daemon to serve with its port up');

      const update = (source: unknown) => raw({ socket }, 'POST', '/jobs', { body: JSON.stringify({ type: 'update', port: 'a', partition: 'client_cert', source }) });
      const sources = [
        { kind: 'bin', path: join(allowed, 'fifo.bin') },
        { kind: 'files', files: [{ type: 'cert', path: join(allowed, 'fifo.crt') }] },
        { kind: 'dir', root: join(allowed, 'fifo-dir') },
      ];
      const answers = await Promise.all([...sources, ...sources].map(update));
      for (const answer of answers) {
        expect(answer.status, answer.text).toBe(400);
        expect(answer.json.error.message).toMatch(/is a FIFO \(named pipe\), not a regular file$/);
      }

      // A client sending its headers slowly (the configured limits are long here): SIGTERM must not wait for it.
      const slow = connect(socket);
      slow.on('error', () => {});
      slow.write('POST /jobs HTTP/1.1\r\nHost: station\r\n');
      const slowClosed = new Promise<void>((resolve) => slow.on('close', () => resolve()));

      expect((await raw({ socket }, 'GET', '/status')).status).toBe(200);
      const job = await client.submitJob({ type: 'update', port: 'a', partition: 'client_cert', source: { kind: 'items', items: [{ type: 'cert', pem: pem('device.crt') }] } });
      expect((await finished(client, job.id)).state).toBe('succeeded');

      child.kill('SIGTERM');
      expect(await exited).toEqual({ code: 0, signal: null });
      await slowClosed;
      expect(output).toContain('"msg":"daemon stopped"');
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });

  it('a config, journal or token file that is a FIFO: one line, exit 2, at once', async () => {
    expectOneLineError(await runCliAsync(['daemon', '--config', at('config.fifo')]), 2, /cannot read config .*config\.fifo: |config\.fifo is a FIFO \(named pipe\), not a regular file/);
    expectOneLineError(await runCliAsync(['daemon', '--config', config('journal-fifo.json', { journal: 'journal.fifo' })]), 2, /journal\.fifo is a FIFO \(named pipe\), not a regular file/);
    const tokenConfig = config('token-fifo.json', { api: { socket: 'api2.sock', tcp: { host: '127.0.0.1', port: 0 }, tokenFile: 'token.fifo' } });
    expectOneLineError(await runCliAsync(['daemon', '--config', tokenConfig, '--check']), 2, /api\.tokenFile: .*token\.fifo is a FIFO \(named pipe\), not a regular file/);
  });
});
