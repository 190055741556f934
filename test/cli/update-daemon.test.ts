/** `at-pki update --daemon`: the CLI submits to a running daemon and shows its progress like a local update. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../pki/paths.js';
import { emulatedPort, removePorts, startTestStation, type EmulatedPort, type TestStation } from '../station/support.js';
import { ensureBuilt, expectOneLineError, jsonLines, runCliAsync } from './harness.js';

const rawData = join(repoRoot, 'examples', 'raw_data');
let station: TestStation;
let ports: EmulatedPort[];

beforeAll(async () => {
  ensureBuilt();
  ports = [emulatedPort('bay1', { fill: 'garbage' }), emulatedPort('bay2', { firmware: '3.2.0.0', mfg: 'empty' })];
  station = await startTestStation({ ports });
});
afterAll(async () => {
  await station.stop();
  removePorts(ports);
});

describe('update --daemon', () => {
  it('provisions through the daemon: same result line, the module holds the bin', async () => {
    const run = await runCliAsync(['update', '--daemon', station.socket, '--port', 'bay1', 'client_cert', '--from', rawData]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/wrote the 2344-byte bin \(2 items\) to client_cert.*verified/);
    const expected = readFileSync(join(repoRoot, 'test/vectors/atpki/client_cert/expected.bin'));
    const partition = ports[0]!.emulator.readPartition('client_cert');
    expect(partition.subarray(0, expected.length)).toEqual(expected);
    expect(partition.subarray(expected.length).every((b) => b === 0xff)).toBe(true);
  });

  it('--json streams begin, progress and one end record; mfg_nvs modules work the same way', async () => {
    const run = await runCliAsync(['update', '--daemon', station.socket, '--port', 'bay2', 'client_key', '--from', rawData, '--json']);
    expect(run.code).toBe(0);
    const events = jsonLines(run);
    expect(events[0]).toMatchObject({ type: 'begin', operation: 'update', port: 'bay2', partition: 'client_key' });
    expect(events.filter((e) => e.type === 'end')).toHaveLength(1);
    expect(events.at(-1)).toMatchObject({ type: 'end', ok: true, result: { storage: 'mfg_nvs', verified: true } });
    expect(events.some((e) => e.type === 'progress' && e.phase === 'write')).toBe(true);
    expect(ports[1]!.emulator.readMfg('client_key', 'client_key.0')?.bytes).toEqual(readFileSync(join(rawData, 'client_key', 'client_key_00.key')));
  });

  it('reports the daemon refusing a job as a one-line error with exit 2', async () => {
    expectOneLineError(await runCliAsync(['update', '--daemon', station.socket, '--port', 'bay9', 'client_cert', '--from', rawData]), 2, /no port named "bay9"/);
  });

  it('passes --any-partition on: refused without it (NOT_A_CREDENTIAL_PARTITION, exit 2), written with it', async () => {
    const bin = join(repoRoot, 'test/vectors/atpki/client_cert/expected.bin');
    expectOneLineError(await runCliAsync(['update', '--daemon', station.socket, '--port', 'bay1', 'fatfs', '--bin', bin]), 2, /fatfs is not a credential partition/);
    const run = await runCliAsync(['update', '--daemon', station.socket, '--port', 'bay1', 'fatfs', '--bin', bin, '--any-partition']);
    expect(run.code, run.stderr).toBe(0);
    const expected = readFileSync(bin);
    expect(ports[0]!.emulator.readPartition('fatfs').subarray(0, expected.length)).toEqual(expected);
  });

  it('reports a daemon that is not there', async () => {
    expectOneLineError(await runCliAsync(['update', '--daemon', join(station.dir, 'nope.sock'), '--port', 'bay1', 'client_cert', '--from', rawData]), 2, /daemon/);
  });
});
