/**
 * Private-key bytes never leave the job: not in the debug log, not in the journal, not in the event
 * streams, not in the job views (except the bytes a read job was asked for). The token never appears
 * in the log either.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePkiBin } from '../../src/pki/bin-format.js';
import type { JobEvent } from '../../src/station/api-types.js';
import { StationClient } from '../../src/station/client.js';
import { fixture } from '../pki/paths.js';
import { emulatedPort, eventually, pem, raw, removePorts, runJob, startTestStation, type EmulatedPort, type TestStation } from './support.js';

const TOKEN = 'secret-token-do-not-log-7f3a9c';

/**
 * Every 16-character run of the key's PEM body (base64 of the DER), every 16-byte run of the DER in
 * hex, and of the PEM file base64-encoded at each alignment (a bin or file logged as base64).
 */
function secretRuns(): string[] {
  const text = pem('device.key');
  const body = text.split('\n').filter((line) => line !== '' && !line.startsWith('-----')).join('');
  const der = Buffer.from(body, 'base64');
  const runs = new Set<string>();
  const windows = (s: string, size: number, step = 1): void => {
    for (let i = 0; i + size <= s.length; i += step) runs.add(s.slice(i, i + size));
  };
  windows(body, 16);
  windows(der.toString('hex'), 32, 2);
  for (const shift of [0, 1, 2]) windows(Buffer.from(text.slice(shift), 'latin1').toString('base64').slice(0, -4), 16, 4);
  return [...runs];
}

function leaks(text: string): string[] {
  return secretRuns().filter((run) => text.includes(run));
}

let k: EmulatedPort;
let t: TestStation;
const streams: JobEvent[][] = [];

beforeAll(async () => {
  k = emulatedPort('k', { fill: 'garbage', seed: 11 });
  t = await startTestStation({ ports: [k], config: { logLevel: 'debug', api: { socket: 'api.sock', tcp: { port: 0 }, token: TOKEN } } });
  await eventually(async () => (await t.client.getStatus()).ports[0]!.state === 'up', 'port up');
  const keyItems = { kind: 'items' as const, items: [{ type: 'key' as const, pem: pem('device.key') }] };
  const keyBin = encodePkiBin([{ type: 'key', content: fixture('device.key') }]).toString('base64');
  const runs = [
    await runJob(t.client, { type: 'update', port: 'k', partition: 'client_key', source: keyItems }),
    await runJob(t.client, { type: 'update', port: 'k', partition: 'mqtt_key', source: { kind: 'inline-bin', base64: keyBin } }),
    await runJob(t.client, { type: 'update', port: 'k', partition: 'wpa2_key', source: { kind: 'items', items: [{ type: 'key', base64: fixture('device.key.der').toString('base64') }] } }),
    await runJob(t.client, { type: 'verify', port: 'k', partition: 'client_key', source: keyItems }),
    await runJob(t.client, { type: 'read', port: 'k', partition: 'client_key', length: 512 }),
  ];
  for (const run of runs) {
    expect(run.view.state, JSON.stringify(run.view.error)).toBe('succeeded');
    streams.push(run.events);
  }
  // A failing one too (validation), and requests with the token over TCP.
  await raw({ socket: t.socket }, 'POST', '/jobs', {
    body: JSON.stringify({ type: 'update', port: 'k', partition: 'client_cert', source: { kind: 'items', items: [{ type: 'cert', pem: pem('device.key') }] } }),
  });
  await new StationClient({ daemon: `http://127.0.0.1:${t.station.tcpAddress!.port}`, token: TOKEN }).getStatus();
});

afterAll(async () => {
  await t?.stop();
  removePorts([k]);
});

describe('secrets', () => {
  it('the module really holds the key (the check below would see it if it leaked)', () => {
    const holds = k.emulator.readPartition('client_key');
    const der = fixture('device.key.der');
    expect(holds.includes(fixture('device.key'))).toBe(true);
    expect(leaks(fixture('device.key').toString('utf8')).length).toBeGreaterThan(100);
    expect(der.length).toBeGreaterThan(16);
  });

  it('are not in the debug log', () => {
    const log = t.logs.join('');
    expect(log).toContain('"level":"debug"');
    expect(log).toContain('AT+SYSFLASH=1'); // the writes were logged, by name and numbers
    expect(leaks(log)).toEqual([]);
    expect(log).not.toContain(TOKEN);
  });

  it('are not in the journal', () => {
    const journal = readFileSync(t.journal, 'utf8');
    expect(journal).toContain('"type":"accepted"');
    expect(leaks(journal)).toEqual([]);
  });

  it('are not in the event streams', () => {
    expect(streams).toHaveLength(5);
    expect(leaks(JSON.stringify(streams))).toEqual([]);
  });

  it('are not in job views, except the bytes a read job returns', async () => {
    const jobs = await t.client.listJobs();
    const read = jobs.find((job) => job.type === 'read')!;
    expect(leaks(Buffer.from(read.result!.data as string, 'base64').toString('latin1')).length).toBeGreaterThan(0);
    const others = jobs.filter((job) => job !== read);
    expect(others.length).toBe(4);
    expect(leaks(JSON.stringify(others))).toEqual([]);
  });
});
