/**
 * Hostile files and clients against the daemon (an in-process `at-pki daemon` on an emulated module,
 * driven over its unix socket):
 * - symbolic links out of jobs.fileRoots — an entry of a `dir` source, the partition folder of a
 *   `dir` source, a `files` entry — are refused 403 and nothing out there reaches the module;
 * - a link swapped between a file inside and one outside while jobs are submitted: no accepted job
 *   carries the outside file;
 * - FIFOs below a root (more requests than libuv has threads) and /dev/zero are refused at once;
 * - slow clients (headers or body trickled, or nothing sent) are cut off by the server, and too many
 *   connections are refused;
 * and while each of them is in progress the daemon answers GET /status and takes and runs new jobs.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePkiBin } from '../../src/pki/bin-format.js';
import { parseJournal } from '../../src/station/journal.js';
import { fixture } from '../pki/paths.js';
import { emulatedPort, eventually, finished, pem, raw, removePorts, startTestStation, tempDir, type EmulatedPort, type RawResponse, type TestStation } from '../station/support.js';

let port: EmulatedPort;
let t: TestStation;
let files: { path: string; remove(): void };
let allowed: string;
const MAX_CONNECTIONS = 16;
const children: ChildProcess[] = [];

const insideCert = fixture('device.crt');
const outsideCert = fixture('ca.crt');
const binOf = (cert: Buffer): Buffer => encodePkiBin([{ type: 'cert', content: cert }]);
const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');
const at = (...parts: string[]): string => join(allowed, ...parts);

beforeAll(async () => {
  files = tempDir('hostile');
  allowed = join(files.path, 'allowed');
  const outside = join(files.path, 'outside');
  mkdirSync(join(outside, 'client_cert'), { recursive: true });
  writeFileSync(join(outside, 'secret.crt'), outsideCert);
  writeFileSync(join(outside, 'client_cert', 'secret.crt'), outsideCert);
  writeFileSync(join(outside, 'secret.bin'), binOf(outsideCert));
  mkdirSync(allowed);
  writeFileSync(at('inside.crt'), insideCert);
  // dir sources: an entry linking out, a partition folder linking out, an entry linking inside
  mkdirSync(at('entry-out', 'client_cert'), { recursive: true });
  symlinkSync(join(outside, 'secret.crt'), at('entry-out', 'client_cert', 'x.crt'));
  mkdirSync(at('folder-out'));
  symlinkSync(join(outside, 'client_cert'), at('folder-out', 'client_cert'));
  mkdirSync(at('entry-in', 'client_cert'), { recursive: true });
  symlinkSync(at('inside.crt'), at('entry-in', 'client_cert', 'x.crt'));
  // files sources
  symlinkSync(join(outside, 'secret.crt'), at('out.crt'));
  symlinkSync(join(outside, 'secret.bin'), at('out.bin'));
  symlinkSync('inside.crt', at('in.crt'));
  // FIFOs below the root
  execFileSync('mkfifo', [at('fifo.bin'), at('fifo.crt')]);
  mkdirSync(at('fifo-dir', 'client_cert'), { recursive: true });
  execFileSync('mkfifo', [at('fifo-dir', 'client_cert', 'a.crt')]);

  port = emulatedPort('a');
  t = await startTestStation({
    ports: [port],
    config: {
      // Short enough for the test, long enough that a busy machine never cuts off a client that is not slow.
      api: { socket: 'api.sock', headersTimeoutMs: 4000, requestTimeoutMs: 6000, maxConnections: MAX_CONNECTIONS },
      // /dev only so that /dev/zero passes the root check and meets the file checks
      jobs: { fileRoots: [allowed, '/dev'] },
    },
  });
  await eventually(async () => (await t.client.getStatus()).ports[0]!.state === 'up', 'port up');
});

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await t?.stop();
  removePorts(port ? [port] : []);
  files?.remove();
});

const post = (body: unknown): Promise<RawResponse> => raw({ socket: t.socket }, 'POST', '/jobs', { body: JSON.stringify(body) });
const update = (source: unknown): Promise<RawResponse> => post({ type: 'update', port: 'a', partition: 'client_cert', source });
const certItems = { kind: 'items', items: [{ type: 'cert', pem: pem('device.crt') }] };

/** The daemon still serves: /status answers, and a new job is accepted and runs to success. */
async function expectServing(): Promise<void> {
  const status = await raw({ socket: t.socket }, 'GET', '/status');
  expect(status.status).toBe(200);
  expect(status.json.accepting).toBe(true);
  const job = await post({ type: 'verify', port: 'a', partition: 'client_cert', source: certItems });
  expect(job.status, job.text).toBe(202);
  const view = await finished(t.client, job.json.id);
  expect(view.state === 'succeeded' || view.error?.code === 'VERIFY_FAILED', JSON.stringify(view.error)).toBe(true);
}

function expectRefused(response: RawResponse, status: number, code: string, message?: RegExp): void {
  expect(response.status, response.text).toBe(status);
  expect(response.json.error.code).toBe(code);
  expect(response.json.error.message).not.toMatch(/[\r\n]/);
  if (message) expect(response.json.error.message).toMatch(message);
}

function acceptedBins(): string[] {
  return parseJournal(readFileSync(t.journal, 'utf8'))
    .records.filter((r) => r.type === 'accepted')
    .map((r) => (r as { job: { bin?: { sha256: string } } }).job.bin?.sha256 ?? '');
}

describe('links out of jobs.fileRoots', () => {
  it('a dir source whose entry links out: 403, nothing journaled', async () => {
    expectRefused(await update({ kind: 'dir', root: at('entry-out') }), 403, 'PATH_NOT_ALLOWED', /entry-out\/client_cert\/x\.crt is not below any of jobs\.fileRoots/);
  });

  it('a dir source whose partition folder links out: 403', async () => {
    expectRefused(await update({ kind: 'dir', root: at('folder-out') }), 403, 'PATH_NOT_ALLOWED', /folder-out\/client_cert is not below any of jobs\.fileRoots/);
  });

  it('a files source and a bin source linking out: 403', async () => {
    expectRefused(await update({ kind: 'files', files: [{ type: 'cert', path: at('out.crt') }] }), 403, 'PATH_NOT_ALLOWED');
    expectRefused(await update({ kind: 'bin', path: at('out.bin') }), 403, 'PATH_NOT_ALLOWED');
  });

  it('links that stay inside are followed; the module holds the inside file, and a read job returns it', async () => {
    const bin = binOf(insideCert);
    for (const source of [
      { kind: 'dir', root: at('entry-in') },
      { kind: 'files', files: [{ type: 'cert', path: at('in.crt') }] },
    ]) {
      const accepted = await update(source);
      expect(accepted.status, accepted.text).toBe(202);
      expect((await finished(t.client, accepted.json.id)).state).toBe('succeeded');
    }
    const read = await post({ type: 'read', port: 'a', partition: 'client_cert', length: bin.length });
    const view = await finished(t.client, read.json.id);
    expect(Buffer.from(String(view.result!.data), 'base64')).toEqual(bin);
    expect(acceptedBins().filter((hash) => hash === sha256(binOf(outsideCert)))).toEqual([]);
  });
});

describe('a link swapped between inside and outside while jobs are submitted', () => {
  it('no accepted job read the outside file', async () => {
    const link = at('race.crt');
    symlinkSync(at('inside.crt'), link);
    // Another process swaps the link as fast as it can (atomic rename of a fresh link).
    const swapper = spawn(
      process.execPath,
      [
        '-e',
        `const fs = require('node:fs');
         const [link, inside, outside] = process.argv.slice(1);
         for (let i = 0; ; i++) {
           const tmp = link + '.tmp';
           try { fs.unlinkSync(tmp); } catch {}
           fs.symlinkSync(i % 2 ? outside : inside, tmp);
           fs.renameSync(tmp, link);
         }`,
        link,
        at('inside.crt'),
        join(files.path, 'outside', 'secret.crt'),
      ],
      { stdio: 'ignore' },
    );
    children.push(swapper);
    const inside = sha256(binOf(insideCert));
    const outcomes = { accepted: 0, refused: 0 };
    const ids: string[] = [];
    try {
      // Until both outcomes were seen many times (bounded: the swapper runs concurrently).
      for (let i = 0; i < 400 && (outcomes.accepted < 20 || outcomes.refused < 20); i++) {
        const response = await post({ type: 'verify', port: 'a', partition: 'client_cert', source: { kind: 'files', files: [{ type: 'cert', path: link }] } });
        if (response.status === 202) {
          outcomes.accepted++;
          ids.push(response.json.id);
        } else {
          expectRefused(response, 403, 'PATH_NOT_ALLOWED');
          outcomes.refused++;
        }
        if (i === 10) await expectServing();
      }
    } finally {
      swapper.kill('SIGKILL');
    }
    expect(outcomes.accepted, JSON.stringify(outcomes)).toBeGreaterThan(0);
    expect(outcomes.refused, JSON.stringify(outcomes)).toBeGreaterThan(0);
    for (const id of ids) expect((await t.client.getJob(id)).request.bin!.sha256).toBe(inside);
    expect(acceptedBins().filter((hash) => hash === sha256(binOf(outsideCert)))).toEqual([]);
    for (const id of ids) await finished(t.client, id);
    console.log(`symlink race: ${outcomes.accepted} accepted (all the inside file), ${outcomes.refused} refused`);
  });
});

describe('files that could block or flood the daemon', () => {
  it('FIFOs below a root (more requests at once than libuv has threads): 400 each, and the daemon keeps serving', async () => {
    const requests = [
      update({ kind: 'bin', path: at('fifo.bin') }),
      update({ kind: 'files', files: [{ type: 'cert', path: at('fifo.crt') }] }),
      update({ kind: 'dir', root: at('fifo-dir') }),
      update({ kind: 'bin', path: at('fifo.bin') }),
      update({ kind: 'files', files: [{ type: 'cert', path: at('fifo.crt') }] }),
      update({ kind: 'dir', root: at('fifo-dir') }),
    ];
    for (const response of await Promise.all(requests)) expectRefused(response, 400, 'BAD_INPUT', /is a FIFO \(named pipe\), not a regular file/);
    await expectServing();
  });

  it('/dev/zero: 400 at once, as a bin and as a credential file', async () => {
    expectRefused(await update({ kind: 'bin', path: '/dev/zero' }), 400, 'BAD_INPUT', /^\/dev\/zero is a character device, not a regular file$/);
    expectRefused(await update({ kind: 'files', files: [{ type: 'cert', path: '/dev/zero' }] }), 400, 'BAD_INPUT', /character device/);
    await expectServing();
  });
});

describe('slow and greedy clients', () => {
  /** A raw connection to the API socket that records whether the server closed it and what it said. */
  function slowClient(): { socket: Socket; closed: Promise<string> } {
    const socket = connect(t.socket);
    let said = '';
    socket.on('data', (chunk: Buffer) => (said += chunk.toString('latin1')));
    socket.on('error', () => {});
    const closed = new Promise<string>((resolve) => socket.on('close', () => resolve(said)));
    return { socket, closed };
  }

  /** Send `parts` one by one, 200 ms apart, for as long as the connection is open. */
  function trickle(socket: Socket, first: string, next: () => string): void {
    socket.write(first);
    const timer = setInterval(() => (socket.destroyed ? clearInterval(timer) : socket.write(next())), 200);
    socket.on('close', () => clearInterval(timer));
  }

  it('headers trickled: closed by the server (408); meanwhile /status and new jobs are served', async () => {
    const client = slowClient();
    trickle(client.socket, 'POST /jobs HTTP/1.1\r\nHost: station\r\n', () => 'X-Slow: 1\r\n');
    await expectServing();
    expect(await client.closed).toMatch(/^HTTP\/1\.1 408/);
  });

  it('a body trickled: closed by the server; meanwhile /status and new jobs are served', async () => {
    const client = slowClient();
    const body = JSON.stringify({ type: 'verify', port: 'a', partition: 'client_cert', source: certItems });
    let sent = 0;
    trickle(
      client.socket,
      `POST /jobs HTTP/1.1\r\nHost: station\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
      () => body.charAt(sent++),
    );
    await expectServing();
    const said = await client.closed;
    expect(said).not.toMatch(/ 202 /);
    expect(sent).toBeLessThan(body.length);
  });

  it('a connection that sends nothing is closed', async () => {
    const client = slowClient();
    await expectServing();
    expect(await client.closed).toMatch(/^(HTTP\/1\.1 408 [^]*)?$/);
  });

  it(`more than api.maxConnections (${MAX_CONNECTIONS}) connections: the extra one is closed unanswered; served again once the idle ones are cut`, async () => {
    const idle = Array.from({ length: MAX_CONNECTIONS }, () => slowClient());
    await Promise.all(idle.map(({ socket }) => new Promise((resolve) => socket.once('connect', resolve))));
    const extra = slowClient();
    extra.socket.write('GET /status HTTP/1.1\r\nHost: station\r\n\r\n');
    expect(await extra.closed).toBe('');
    expect(t.logs.some((line) => line.includes('API connections refused: api.maxConnections are open'))).toBe(true);
    await Promise.all(idle.map(({ closed }) => closed));
    await expectServing();
  });
});

describe('400 answers do not repeat what a client sent', () => {
  it('an unknown field is named only when short and plain; values never', async () => {
    const secret = 'sk_live_51H8xQ2eZvKYlo2C0aB3dE4fG5hI6jK7lM8nO9pQ';
    const named = await post({ type: 'partitions', port: 'a', priority: secret });
    expectRefused(named, 400, 'BAD_INPUT', /^priority: unknown field/);
    expect(named.text).not.toContain(secret);
    for (const key of [secret, 'Authorization: Bearer abc', 'x'.repeat(25)]) {
      const response = await post({ type: 'partitions', port: 'a', [key]: 1 });
      expectRefused(response, 400, 'BAD_INPUT', new RegExp(`a field whose name is not shown \\(${key.length} characters\\) is unknown here`));
      expect(response.text).not.toContain(key.slice(0, 12));
    }
    const nested = await update({ kind: 'items', items: [{ type: 'cert', pem: pem('device.crt'), [secret]: 'x' }] });
    expectRefused(nested, 400, 'BAD_INPUT', /^source\.items\[0\]: a field whose name is not shown/);
    expect(nested.text).not.toContain(secret.slice(0, 12));
    const value = await post({ type: secret, port: 'a' });
    expectRefused(value, 400, 'BAD_INPUT', new RegExp(`got a ${secret.length}-character string`));
  });
});
