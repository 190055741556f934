/**
 * The API's answers: every refusal is a 4xx with `{ error: { code, message } }` and never reaches a
 * module (the emulators' counters do not move); the socket is 0600; TCP needs the bearer token.
 */
import { statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePkiBin } from '../../src/pki/bin-format.js';
import { StationClient } from '../../src/station/client.js';
import { fixture } from '../pki/paths.js';
import { certAndKeySource, emulatedPort, eventually, pem, raw, removePorts, startTestStation, type EmulatedPort, type TestStation } from './support.js';

const TOKEN = 'test-token-0123456789abcdef';

let ports: EmulatedPort[];
let t: TestStation;

beforeAll(async () => {
  ports = [emulatedPort('a'), emulatedPort('b', { chip: 'esp32' })];
  t = await startTestStation({
    ports,
    config: { api: { socket: 'api.sock', tcp: { host: '127.0.0.1', port: 0 }, token: TOKEN, maxBodyBytes: 32768 } },
  });
  // The partition tables are known once the ports are up (checks that need them are part of the test).
  await eventually(async () => (await t.client.getStatus()).ports.every((p) => p.state === 'up'), 'ports up');
});

afterAll(async () => {
  await t?.stop();
  removePorts(ports);
});

const socket = (): { socket: string } => ({ socket: t.socket });
const post = (body: unknown) => raw(socket(), 'POST', '/jobs', { body: typeof body === 'string' ? body : JSON.stringify(body) });

function bigBin(bytes: number): string {
  // Three plain items (validation off) adding up to more than a PKI partition holds.
  const item = Buffer.alloc(Math.ceil(bytes / 3), 0x41);
  return encodePkiBin([
    { type: 'cert', content: item },
    { type: 'cert', content: item },
    { type: 'cert', content: item },
  ]).toString('base64');
}

const keyBin = encodePkiBin([{ type: 'key', content: fixture('device.key') }]).toString('base64');

describe('refusals', () => {
  const cases: [string, () => Promise<{ status: number; json: any }>, number, string][] = [
    ['a body that is not JSON', () => post('{"type":'), 400, 'BAD_REQUEST'],
    ['an empty body', () => post(''), 400, 'BAD_REQUEST'],
    ['a body that is not an object', () => post([1, 2]), 400, 'BAD_INPUT'],
    ['a non-JSON content type', () => raw(socket(), 'POST', '/jobs', { body: 'type=update', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } }), 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ['a body over the size limit (Content-Length)', () => post({ type: 'update', port: 'a', partition: 'client_cert', source: { kind: 'inline-bin', base64: 'A'.repeat(40_000) } }), 413, 'PAYLOAD_TOO_LARGE'],
    ['a body over the size limit (chunked)', () => raw(socket(), 'POST', '/jobs', { body: JSON.stringify({ pad: 'x'.repeat(50_000) }), chunked: true }), 413, 'PAYLOAD_TOO_LARGE'],
    ['no type', () => post({ port: 'a' }), 400, 'BAD_INPUT'],
    ['an unknown type', () => post({ type: 'flash', port: 'a' }), 400, 'BAD_INPUT'],
    ['an unknown field', () => post({ type: 'partitions', port: 'a', priority: 1 }), 400, 'BAD_INPUT'],
    ['a field of another job type', () => post({ type: 'read', port: 'a', partition: 'client_cert', force: true }), 400, 'BAD_INPUT'],
    ['an unknown port', () => post({ type: 'partitions', port: 'zz' }), 400, 'UNKNOWN_PORT'],
    ['a port that is not a string', () => post({ type: 'partitions', port: 1 }), 400, 'BAD_INPUT'],
    ['a partition name with a quote', () => post({ type: 'read', port: 'a', partition: 'client"cert' }), 400, 'BAD_INPUT'],
    ['a partition name with a comma', () => post({ type: 'read', port: 'a', partition: 'client,cert' }), 400, 'BAD_INPUT'],
    ['a partition name with a line break', () => post({ type: 'read', port: 'a', partition: 'x\r\nAT+RST' }), 400, 'BAD_INPUT'],
    ['a partition name with a NUL', () => post({ type: 'read', port: 'a', partition: 'client\u0000' }), 400, 'BAD_INPUT'],
    ['a partition name over 16 characters', () => post({ type: 'read', port: 'a', partition: 'p'.repeat(17) }), 400, 'BAD_INPUT'],
    ['an empty partition name', () => post({ type: 'read', port: 'a', partition: '' }), 400, 'BAD_INPUT'],
    ['a partition the module does not have', () => post({ type: 'read', port: 'a', partition: 'no_such_part' }), 400, 'UNKNOWN_PARTITION'],
    ['a negative offset', () => post({ type: 'read', port: 'a', partition: 'client_cert', offset: -1 }), 400, 'BAD_INPUT'],
    ['a fractional length', () => post({ type: 'read', port: 'a', partition: 'client_cert', length: 1.5 }), 400, 'BAD_INPUT'],
    ['a read past the end of the partition', () => post({ type: 'read', port: 'a', partition: 'client_cert', offset: 8000, length: 1000 }), 400, 'BAD_INPUT'],
    ['a read longer than maxReadBytes', () => post({ type: 'read', port: 'a', partition: 'client_cert', length: 10_000_000 }), 400, 'BAD_INPUT'],
    ['force that is not a boolean', () => post({ type: 'update', port: 'a', partition: 'client_key', force: 'yes', source: { kind: 'inline-bin', base64: keyBin } }), 400, 'BAD_INPUT'],
    ['no source', () => post({ type: 'update', port: 'a', partition: 'client_key' }), 400, 'BAD_INPUT'],
    ['an unknown source kind', () => post({ type: 'update', port: 'a', partition: 'client_key', source: { kind: 'url', url: 'x' } }), 400, 'BAD_INPUT'],
    ['an unknown source field', () => post({ type: 'update', port: 'a', partition: 'client_key', source: { kind: 'inline-bin', base64: keyBin, extra: 1 } }), 400, 'BAD_INPUT'],
    ['invalid base64', () => post({ type: 'update', port: 'a', partition: 'client_key', source: { kind: 'inline-bin', base64: 'not base64!' } }), 400, 'BAD_INPUT'],
    ['a bin with a bad magic', () => post({ type: 'update', port: 'a', partition: 'client_key', source: { kind: 'inline-bin', base64: Buffer.from('hello world!').toString('base64') } }), 400, 'BAD_INPUT'],
    ['an item with both pem and base64', () => post({ type: 'update', port: 'a', partition: 'client_key', source: { kind: 'items', items: [{ type: 'key', pem: 'x', base64: 'eA==' }] } }), 400, 'BAD_INPUT'],
    ['an item of an unknown type', () => post({ type: 'update', port: 'a', partition: 'client_key', source: { kind: 'items', items: [{ type: 'password', pem: 'x' }] } }), 400, 'BAD_INPUT'],
    [
      'credentials that fail validation (key does not match the certificate)',
      () => post({ type: 'update', port: 'a', partition: 'client_cert', source: { kind: 'items', items: [{ type: 'cert', pem: pem('device.crt') }, { type: 'key', pem: pem('other.key') }] } }),
      400,
      'BAD_INPUT',
    ],
    ['a bin too large for the partition', () => post({ type: 'update', port: 'a', partition: 'client_cert', validate: false, source: { kind: 'inline-bin', base64: bigBin(9000) } }), 400, 'BIN_TOO_LARGE'],
    ['a file source while file sources are disabled', () => post({ type: 'update', port: 'a', partition: 'client_cert', source: { kind: 'bin', path: '/etc/passwd' } }), 403, 'FILE_SOURCES_DISABLED'],
    ['an unknown job', () => raw(socket(), 'GET', '/jobs/0000'), 404, 'NOT_FOUND'],
    ['the events of an unknown job', () => raw(socket(), 'GET', '/jobs/0000/events'), 404, 'NOT_FOUND'],
    ['cancelling an unknown job', () => raw(socket(), 'DELETE', '/jobs/0000'), 404, 'NOT_FOUND'],
    ['the partitions of an unknown port', () => raw(socket(), 'GET', '/ports/zz/partitions'), 404, 'NOT_FOUND'],
    ['an unknown route', () => raw(socket(), 'GET', '/nope'), 404, 'NOT_FOUND'],
    ['a method a route does not take', () => raw(socket(), 'PUT', '/jobs'), 405, 'METHOD_NOT_ALLOWED'],
  ];

  it('answers each with its 4xx JSON error, and no module sees a single byte', async () => {
    for (const port of ports) await port.emulator.whenIdle();
    const before = ports.map((port) => JSON.stringify(port.emulator.stats));
    for (const [what, send, status, code] of cases) {
      const response = await send();
      expect(response.status, what).toBe(status);
      expect(response.json, what).toMatchObject({ error: { code, message: expect.any(String) } });
      expect(response.json.error.message.length, what).toBeGreaterThan(0);
    }
    for (const port of ports) await port.emulator.whenIdle();
    expect(ports.map((port) => JSON.stringify(port.emulator.stats))).toEqual(before);
    expect((await t.client.listJobs()).length).toBe(0);
    // Nothing was journaled either.
    expect((await import('node:fs')).readFileSync(t.journal, 'utf8')).not.toContain('"accepted"');
  });

  it('explains a validation failure with the findings', async () => {
    const response = await post({ type: 'update', port: 'a', partition: 'client_cert', source: { kind: 'items', items: [{ type: 'cert', pem: pem('device.crt') }, { type: 'key', pem: pem('other.key') }] } });
    expect(response.json.error.message).toMatch(/validation failed: .*"validate": false/);
    expect(response.json.error.details.errors[0].code).toBe('KEY_MISMATCH');
  });

  it('names the partitions the module has', async () => {
    const response = await post({ type: 'read', port: 'a', partition: 'no_such_part' });
    expect(response.json.error.details.available).toContain('client_cert');
  });

  it('does not echo long strings back (a misplaced key must not come back in an error)', async () => {
    const key = pem('device.key');
    const response = await post({ type: 'update', port: 'a', partition: key, source: certAndKeySource() });
    expect(response.status).toBe(400);
    expect(response.text).not.toContain(key.split('\n')[1]!.slice(0, 16));
  });
});

describe('answers', () => {
  it('serves status, partitions, metrics', async () => {
    const status = await t.client.getStatus();
    expect(status).toMatchObject({ version: 'test', accepting: true, jobs: { queued: 0, running: 0, interrupted: 0 } });
    expect(status.ports.map((p) => [p.name, p.state, p.firmware?.atVersion, p.queued])).toEqual([
      ['a', 'up', '2.4.0.0', 0],
      ['b', 'up', '2.4.0.0', 0],
    ]);
    const partitions = await t.client.getPartitions('a');
    expect(partitions).toMatchObject({ port: 'a', state: 'up', stale: false });
    expect(partitions.partitions.find((p) => p.label === 'client_key')).toMatchObject({ size: 0x2000 });
    const metrics = await t.client.getMetrics();
    expect(metrics).toContain('serial_port_up{port="a"} 1');
  });

  it('creates the unix socket readable and writable by the owner only', () => {
    expect(statSync(t.socket).mode & 0o777).toBe(0o600);
  });

  it('wants the bearer token on TCP', async () => {
    const tcp = t.station.tcpAddress!;
    const none = await raw(tcp, 'GET', '/status');
    expect(none.status).toBe(401);
    expect(none.json).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
    expect(none.headers['www-authenticate']).toBe('Bearer');
    const wrong = await raw(tcp, 'GET', '/status', { headers: { Authorization: `Bearer ${TOKEN}x` } });
    expect(wrong.status).toBe(401);
    const wrongJob = await raw(tcp, 'POST', '/jobs', { body: JSON.stringify({ type: 'partitions', port: 'a' }), headers: { Authorization: 'Basic abc' } });
    expect(wrongJob.status).toBe(401);
    const client = new StationClient({ daemon: `http://127.0.0.1:${tcp.port}`, token: TOKEN });
    expect((await client.getStatus()).ports).toHaveLength(2);
    const anonymous = new StationClient({ daemon: `http://127.0.0.1:${tcp.port}` });
    await expect(anonymous.getStatus()).rejects.toMatchObject({ code: 'BAD_INPUT', details: { status: 401, apiCode: 'UNAUTHORIZED' } });
  });

  it('reports an unreachable daemon as a PortError naming the address', async () => {
    const client = new StationClient({ daemon: `${t.dir}/nothing.sock` });
    await expect(client.getStatus()).rejects.toMatchObject({ code: 'PORT_UNAVAILABLE', message: expect.stringContaining('cannot reach the at-pki daemon') });
  });
});
