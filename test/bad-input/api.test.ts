/**
 * Bad requests to the daemon's API (an in-process `at-pki daemon` on emulated modules, one legacy and
 * one ESP-AT 3.x): each is a 4xx with a one-line `{ error: { code, message } }`, nothing is journaled,
 * and the modules do not receive a single byte (their received bytes are recorded, their flash
 * compared). Also `at-pki update --daemon` with bad input: one line, exit 2. Complements the
 * refusal table of test/station/api.test.ts with traversal, token, validation and mfg_nvs cases.
 */
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePkiBin } from '../../src/pki/bin-format.js';
import { ensureBuilt } from '../cli/harness.js';
import { fixture, fixturesDir } from '../pki/paths.js';
import { emulatedPort, eventually, pem, raw, removePorts, startTestStation, tempDir, type EmulatedPort, type RawResponse, type TestStation } from '../station/support.js';
import { cli, expectRefused } from './support.js';

const TOKEN = 'bad-input-token-0123456789';

let legacy: EmulatedPort;
let v3: EmulatedPort;
let t: TestStation;
let files: { path: string; remove(): void };
let allowed: string;
const received = new Map<EmulatedPort, Buffer[]>();

beforeAll(async () => {
  ensureBuilt();
  files = tempDir('files');
  allowed = join(files.path, 'allowed');
  mkdirSync(allowed);
  writeFileSync(join(files.path, 'outside.bin'), encodePkiBin([{ type: 'cert', content: fixture('device.crt') }]));
  writeFileSync(join(allowed, 'good.bin'), encodePkiBin([{ type: 'cert', content: fixture('device.crt') }]));
  symlinkSync(join(files.path, 'outside.bin'), join(allowed, 'link.bin'));
  legacy = emulatedPort('a', { fill: 'garbage', seed: 3 });
  v3 = emulatedPort('m', { firmware: '3.2.0.0' });
  for (const port of [legacy, v3]) {
    const chunks: Buffer[] = [];
    received.set(port, chunks);
    port.emulator.setFaultInjector({ filterInput: (chunk) => (chunks.push(Buffer.from(chunk)), chunk) });
  }
  t = await startTestStation({
    ports: [legacy, v3],
    config: { api: { socket: 'api.sock', tcp: { host: '127.0.0.1', port: 0 }, token: TOKEN, maxBodyBytes: 8192 }, jobs: { fileRoots: [allowed] } },
  });
  await eventually(async () => (await t.client.getStatus()).ports.every((p) => p.state === 'up' && p.storage !== undefined), 'ports up');
});

afterAll(async () => {
  await t?.stop();
  removePorts([legacy, v3].filter(Boolean));
  files?.remove();
});

const sock = (): { socket: string } => ({ socket: t.socket });
const post = (body: unknown): Promise<RawResponse> => raw(sock(), 'POST', '/jobs', { body: typeof body === 'string' ? body : JSON.stringify(body) });
const update = (fields: Record<string, unknown>): Promise<RawResponse> => post({ type: 'update', port: 'a', partition: 'client_cert', ...fields });
const items = (...list: { type: string; pem?: string; base64?: string }[]) => ({ kind: 'items', items: list });
const b64 = (bytes: Buffer): string => bytes.toString('base64');

/** base64url of bytes whose plain base64 has both '+' and '/' (so the two really differ). */
function urlAlphabet(bytes: Buffer): string {
  const plain = b64(bytes);
  if (!plain.includes('+') || !plain.includes('/')) throw new Error('pick other bytes: their base64 has no + or /');
  return bytes.toString('base64url');
}

type Case = [name: string, send: () => Promise<RawResponse>, status: number, code: string | RegExp];

const cases: Case[] = [
  // Malformed requests
  ['a body that stops mid-JSON', () => post('{"type":"update","port":'), 400, 'BAD_REQUEST'],
  ['JSON with a trailing comma', () => post('{"type":"partitions","port":"a",}'), 400, 'BAD_REQUEST'],
  ['a JSON string instead of an object', () => post('"update"'), 400, 'BAD_INPUT'],
  ['null', () => post('null'), 400, 'BAD_INPUT'],
  ['a body in another encoding (UTF-16)', () => raw(sock(), 'POST', '/jobs', { body: Buffer.from('{"type":"partitions","port":"a"}', 'utf16le') }), 400, 'BAD_REQUEST'],
  ['a huge body (over api.maxBodyBytes)', () => update({ source: items({ type: 'cert', pem: 'A'.repeat(20_000) }) }), 413, 'PAYLOAD_TOO_LARGE'],
  ['a huge body sent chunked, without Content-Length', () => raw(sock(), 'POST', '/jobs', { body: JSON.stringify({ type: 'partitions', port: 'a', pad: 'x'.repeat(100_000) }), chunked: true }), 413, 'PAYLOAD_TOO_LARGE'],
  // Unknown fields and wrong types
  ['an unknown top-level field', () => update({ source: items({ type: 'cert', pem: pem('device.crt') }), priority: 'high' }), 400, 'BAD_INPUT'],
  ['an unknown field in an item', () => update({ source: { kind: 'items', items: [{ type: 'cert', pem: pem('device.crt'), name: 'x' }] } }), 400, 'BAD_INPUT'],
  ['__proto__ as a field', () => post('{"type":"partitions","port":"a","__proto__":{"admin":true}}'), 400, 'BAD_INPUT'],
  ['type as a number', () => post({ type: 1, port: 'a' }), 400, 'BAD_INPUT'],
  ['port as an array', () => post({ type: 'partitions', port: ['a'] }), 400, 'BAD_INPUT'],
  ['partition as an object', () => update({ partition: { label: 'client_cert' }, source: items({ type: 'cert', pem: pem('device.crt') }) }), 400, 'BAD_INPUT'],
  ['validate as a string', () => update({ validate: 'false', source: items({ type: 'cert', pem: pem('device.crt') }) }), 400, 'BAD_INPUT'],
  ['items that is not a list', () => update({ source: { kind: 'items', items: { type: 'cert', pem: 'x' } } }), 400, 'BAD_INPUT'],
  ['an empty item list', () => update({ source: items() }), 400, 'BAD_INPUT'],
  ['an offset given as text', () => post({ type: 'read', port: 'a', partition: 'client_cert', offset: '0x10' }), 400, 'BAD_INPUT'],
  ['a length of zero', () => post({ type: 'read', port: 'a', partition: 'client_cert', length: 0 }), 400, 'BAD_INPUT'],
  ['an offset past the end', () => post({ type: 'read', port: 'a', partition: 'client_cert', offset: 8192, length: 4 }), 400, 'BAD_INPUT'],
  // Names that could carry AT syntax
  ['a partition name closing the quote and adding a command', () => update({ partition: 'client_cert",0,4096\r\nAT+SYSFLASH=0,"client_key', source: items({ type: 'cert', pem: pem('device.crt') }) }), 400, 'BAD_INPUT'],
  ['a partition name with a backslash', () => update({ partition: 'client\\cert', source: items({ type: 'cert', pem: pem('device.crt') }) }), 400, 'BAD_INPUT'],
  ['a partition name with a space', () => update({ partition: 'client cert', source: items({ type: 'cert', pem: pem('device.crt') }) }), 400, 'BAD_INPUT'],
  ['a namespace that is no PKI namespace (ESP-AT 3.x)', () => post({ type: 'update', port: 'm', partition: 'factory_param', source: items({ type: 'cert', pem: pem('device.crt') }) }), 400, 'BAD_INPUT'],
  // Not a credential partition (update writes PKI partitions and esp_secure_cert only, unless anyPartition)
  ['a PKI bin for fatfs', () => update({ partition: 'fatfs', source: items({ type: 'cert', pem: pem('device.crt') }) }), 400, 'NOT_A_CREDENTIAL_PARTITION'],
  ['a PKI bin for factory_param (type 0x40, but no credentials)', () => update({ partition: 'factory_param', source: items({ type: 'cert', pem: pem('device.crt') }) }), 400, 'NOT_A_CREDENTIAL_PARTITION'],
  ['a PKI bin for the whole mfg_nvs partition (ESP-AT 3.x)', () => post({ type: 'update', port: 'm', partition: 'mfg_nvs', source: items({ type: 'cert', pem: pem('device.crt') }) }), 400, 'NOT_A_CREDENTIAL_PARTITION'],
  ['anyPartition that is not a boolean', () => update({ partition: 'fatfs', anyPartition: 'yes', source: items({ type: 'cert', pem: pem('device.crt') }) }), 400, 'BAD_INPUT'],
  ['two values for a single-value namespace (ESP-AT 3.x)', () => post({ type: 'update', port: 'm', partition: 'mqtt_cert', source: items({ type: 'cert', pem: pem('device.crt') }, { type: 'cert', pem: pem('ca.crt') }) }), 400, 'BAD_INPUT'],
  // Credentials that are wrong
  ['malformed PEM', () => update({ source: items({ type: 'cert', pem: '-----BEGIN CERTIFICATE-----\nMIIB!!\n-----END CERTIFICATE-----\n' }) }), 400, 'BAD_INPUT'],
  ['binary garbage as a certificate', () => update({ source: items({ type: 'cert', base64: b64(Buffer.from(Array.from({ length: 900 }, (_, i) => (i * 37 + 11) & 0xff))) }) }), 400, 'BAD_INPUT'],
  ['an encrypted key', () => update({ partition: 'client_key', source: items({ type: 'key', pem: pem('device-encrypted.key') }) }), 400, 'BAD_INPUT'],
  ['a key in a _cert partition', () => update({ source: items({ type: 'key', pem: pem('device.key') }) }), 400, 'BAD_INPUT'],
  ['an item over 65,535 bytes', () => update({ validate: false, source: items({ type: 'cert', base64: b64(Buffer.alloc(70_000)) }) }), 413, 'PAYLOAD_TOO_LARGE'],
  ['an inline bin that is erased flash', () => update({ source: { kind: 'inline-bin', base64: b64(Buffer.alloc(64, 0xff)) } }), 400, 'BAD_INPUT'],
  ['an inline bin cut short', () => update({ source: { kind: 'inline-bin', base64: b64(encodePkiBin([{ type: 'cert', content: fixture('device.crt') }]).subarray(0, 100)) } }), 400, 'BAD_INPUT'],
  ['base64 in the URL alphabet', () => update({ source: { kind: 'inline-bin', base64: urlAlphabet(encodePkiBin([{ type: 'cert', content: fixture('device.crt.der') }])) } }), 400, 'BAD_INPUT'],
  // Files on the daemon's host
  ['a relative file path', () => update({ source: { kind: 'bin', path: 'allowed/good.bin' } }), 400, 'BAD_INPUT'],
  ['path traversal out of the file root', () => update({ source: { kind: 'bin', path: `${allowed}/../outside.bin` } }), 403, 'PATH_NOT_ALLOWED'],
  ['a symbolic link out of the file root', () => update({ source: { kind: 'bin', path: `${allowed}/link.bin` } }), 403, 'PATH_NOT_ALLOWED'],
  ['/etc/shadow', () => update({ source: { kind: 'bin', path: '/etc/shadow' } }), 403, 'PATH_NOT_ALLOWED'],
  ['a dir source whose root is the file root’s parent', () => update({ source: { kind: 'dir', root: files.path } }), 403, 'PATH_NOT_ALLOWED'],
  ['a file path with a NUL', () => update({ source: { kind: 'bin', path: `${allowed}/good.bin\u0000.txt` } }), 400, 'BAD_INPUT'],
  // Paths of the API itself
  ['path traversal in a job id', () => raw(sock(), 'GET', '/jobs/..%2F..%2Fetc%2Fpasswd'), 404, 'NOT_FOUND'],
  ['path traversal in a port name', () => raw(sock(), 'GET', '/ports/..%2Fa/partitions'), 404, 'NOT_FOUND'],
  ['broken percent-encoding', () => raw(sock(), 'GET', '/jobs/%E0%A4%A'), 400, 'BAD_REQUEST'],
  ['DELETE on /jobs', () => raw(sock(), 'DELETE', '/jobs'), 405, 'METHOD_NOT_ALLOWED'],
  // The token on TCP
  ['no token on TCP', () => raw(t.station.tcpAddress!, 'POST', '/jobs', { body: JSON.stringify({ type: 'partitions', port: 'a' }) }), 401, 'UNAUTHORIZED'],
  ['a wrong token on TCP', () => raw(t.station.tcpAddress!, 'POST', '/jobs', { body: JSON.stringify({ type: 'partitions', port: 'a' }), headers: { Authorization: `Bearer ${TOKEN.slice(0, -1)}X` } }), 401, 'UNAUTHORIZED'],
  ['the token in the query string instead of the header', () => raw(t.station.tcpAddress!, 'GET', `/status?token=${TOKEN}`), 401, 'UNAUTHORIZED'],
];

describe('the API refuses bad requests: 4xx, one-line JSON error, nothing journaled, the modules get nothing', () => {
  for (const [name, send, status, code] of cases) {
    it(name, async () => {
      const before = [legacy, v3].map((port) => ({ bytes: Buffer.concat(received.get(port)!).length, flash: port.emulator.flashImage() }));
      const response = await send();
      expect(response.status, response.text).toBe(status);
      expect(response.json, response.text).toMatchObject({ error: { code: expect.any(String), message: expect.any(String) } });
      expect(response.json.error.code).toMatch(code);
      expect(response.json.error.message).not.toMatch(/[\r\n]/);
      expect(response.json.error.message.length).toBeGreaterThan(10);
      for (const [i, port] of [legacy, v3].entries()) {
        await port.emulator.whenIdle();
        expect(Buffer.concat(received.get(port)!).length, `${port.name} received bytes`).toBe(before[i]!.bytes);
        expect(port.emulator.flashImage().equals(before[i]!.flash)).toBe(true);
      }
    });
  }

  it('none of them was journaled or queued', async () => {
    expect(readFileSync(t.journal, 'utf8')).not.toContain('"accepted"');
    expect(await t.client.listJobs()).toEqual([]);
  });
});

describe('at-pki update --daemon with bad input: one line, exit 2', () => {
  it('a credential file that is garbage (refused by the CLI before anything is sent)', async () => {
    const run = await cli(['update', '--daemon', t.socket, '--port', 'a', 'client_cert', 'cert', `${fixturesDir}/device.key`]);
    expectRefused(run, /client_cert holds cert items, but cert #0|validation failed/);
  });

  it('a port name the daemon does not have (refused by the daemon)', async () => {
    const run = await cli(['update', '--daemon', t.socket, '--port', 'nope', 'client_cert', 'cert', `${fixturesDir}/device.crt`]);
    expectRefused(run, /the daemon refused the request: no port named "nope"/);
  });

  it('a partition name with a quote (refused by the daemon)', async () => {
    const run = await cli(['update', '--daemon', t.socket, '--port', 'a', 'client"cert', 'cert', `${fixturesDir}/device.crt`]);
    expectRefused(run, /the daemon refused the request: partition: .* is not a partition label/);
  });

  it('a daemon socket that does not exist', async () => {
    const run = await cli(['update', '--daemon', join(files.path, 'none.sock'), '--port', 'a', 'client_cert', 'cert', `${fixturesDir}/device.crt`]);
    expectRefused(run, /cannot reach the at-pki daemon/);
  });

  it('and still nothing reached the modules or the journal', async () => {
    expect(readFileSync(t.journal, 'utf8')).not.toContain('"accepted"');
    expect(legacy.emulator.stats.flashBytesWritten + legacy.emulator.stats.flashBytesErased).toBe(0);
    expect(v3.emulator.stats.mfgWrites + v3.emulator.stats.mfgErases).toBe(0);
  });
});
