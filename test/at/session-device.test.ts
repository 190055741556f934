/**
 * The session against a module: the in-process emulator by default, the real module on
 * AT_PKI_TEST_PORT (read-only: nothing here writes to flash).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AtSession } from '../../src/at/session.js';
import { sysflashReadPayload } from '../../src/at/framer.js';
import { DeviceError } from '../../src/errors.js';
import { parseFirmwareInfo } from '../../src/flash/firmware.js';
import { parsePartitionTable } from '../../src/flash/partition-table.js';
import { openTransport } from '../../src/transport/open.js';
import type { Transport } from '../../src/transport/transport.js';
import { testDevice, type TestDevice } from '../support/device.js';

let device: TestDevice;
let transport: Transport;
let session: AtSession;

beforeEach(async () => {
  device = testDevice({ fill: 'garbage' });
  transport = await openTransport(device.url);
  session = await AtSession.connect(transport);
});

afterEach(async () => {
  session.dispose();
  await transport.close();
  device.dispose();
});

describe('AtSession against a module', () => {
  it('connects with echo on and answers AT+GMR with a version', async () => {
    const gmr = parseFirmwareInfo((await session.command('AT+GMR')).lines);
    expect(gmr.atVersion).toHaveLength(4);
    // Echo stays on; the session checks it and keeps it out of the answer.
    expect((await session.command('AT')).lines).toEqual([]);
    if (device.emulator) expect(device.emulator.echo).toBe(true);
  });

  it('reads the partition table and a length-framed chunk of flash', async () => {
    const table = parsePartitionTable((await session.command('AT+SYSFLASH?')).lines);
    expect(table.length).toBeGreaterThan(0);
    const first = table[0]!;
    const answer = await session.command(`AT+SYSFLASH=2,"${first.label}",0,256`, { payload: sysflashReadPayload, responseBytes: 256 });
    expect(answer.payload).toHaveLength(256);
    if (device.emulator) expect(answer.payload).toEqual(device.emulator.readPartition(first.label).subarray(0, 256));
  });

  it('reads 4 KiB in one command, the largest chunk at-pki uses', async () => {
    const table = parsePartitionTable((await session.command('AT+SYSFLASH?')).lines);
    const big = table.find((p) => p.size >= 4096)!;
    const answer = await session.command(`AT+SYSFLASH=2,"${big.label}",0,4096`, { payload: sysflashReadPayload, responseBytes: 4096 });
    expect(answer.payload).toHaveLength(4096);
  });

  it('turns ERROR into a DeviceError that names the command and, with SYSLOG, the reason', async () => {
    const error = await session.command('AT+SYSFLASH=2,"no_such_part",0,4', { payload: sysflashReadPayload }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeviceError);
    expect((error as DeviceError).message).toMatch(/ERROR to AT\+SYSFLASH/);
    if (session.errorCodesEnabled) expect((error as DeviceError).message).toMatch(/partition not found/);
    // And the session carries on.
    expect((await session.command('AT')).lines).toEqual([]);
  });
});
