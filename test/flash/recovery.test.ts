/**
 * What update() does when the line or the module misbehaves mid-job. These need the emulator's
 * fault hooks, so they run against it only (the device tests in update.test.ts also run on hardware).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createEmulator, removeEmulator, type EspAtEmulator } from '../../mock-device/index.js';
import { DeviceError, DisconnectedError, VerifyError } from '../../src/errors.js';
import { EspAtModule } from '../../src/flash/module.js';
import { updatePartition } from '../../src/flash/update.js';
import { registerMockScheme } from '../support/device.js';

const LABEL = 'client_cert';
const bin = Buffer.alloc(6000);
for (let i = 0; i < bin.length; i++) bin[i] = (i * 7 + 3) & 0xff;

let emulator: EspAtEmulator;
let module: EspAtModule;
let id = 0;

beforeEach(async () => {
  registerMockScheme();
  const name = `recovery-${++id}`;
  emulator = createEmulator(name, { chip: 'esp32', fill: 'garbage', seed: 5 });
  module = await EspAtModule.connect(`mock://esp32?id=${name}`, { timeoutMs: 400 });
});

afterEach(async () => {
  await module.close().catch(() => {});
  removeEmulator(`recovery-${id}`);
});

/** Host→module chunks that are write payloads (everything after a `>` prompt is raw data, not a command). */
function isPayload(chunk: Buffer): boolean {
  return !chunk.subarray(0, 3).equals(Buffer.from('AT+')) && !chunk.subarray(0, 2).equals(Buffer.from('AT'));
}

describe('update() under faults', () => {
  it('recovers a chunk whose bytes were lost on the line: tops up with 0xFF, rewrites the sector, verifies', async () => {
    let dropped = false;
    emulator.setFaultInjector({
      filterInput(chunk) {
        if (!dropped && chunk.length > 100 && isPayload(chunk)) {
          dropped = true;
          return chunk.subarray(0, chunk.length - 5); // five bytes never arrive
        }
        return chunk;
      },
    });
    const events: string[] = [];
    const report = await updatePartition(module, LABEL, bin, { onEvent: (e) => e.type === 'log' && events.push(e.message) });
    expect(dropped).toBe(true);
    expect(report.recoveries).toBe(1);
    expect(report.verified).toBe(true);
    expect(emulator.readPartition(LABEL).subarray(0, bin.length)).toEqual(bin);
    expect(events.join('\n')).toMatch(/topped up with \d+ bytes of 0xFF.*rewriting sector/);
  });

  it('a written byte corrupted once on the line: the sector is read twice, then erased and written again', async () => {
    let corrupted = false;
    emulator.setFaultInjector({
      filterInput(chunk) {
        if (!corrupted && chunk.length > 100 && isPayload(chunk)) {
          corrupted = true;
          const copy = Buffer.from(chunk);
          copy[10] = copy[10]! ^ 0x01;
          return copy;
        }
        return chunk;
      },
    });
    const report = await updatePartition(module, LABEL, bin);
    expect(corrupted).toBe(true);
    expect(report.recoveries).toBe(1);
    expect(emulator.readPartition(LABEL).subarray(0, bin.length)).toEqual(bin);
  });

  it('never reports success when written bytes stay corrupted: VerifyError naming the offset and the module state', async () => {
    emulator.setFaultInjector({
      filterInput(chunk) {
        // Every write arrives garbled, its one rewrite too.
        if (chunk.length > 100 && isPayload(chunk)) {
          const copy = Buffer.from(chunk);
          copy[10] = copy[10]! ^ 0x01;
          return copy;
        }
        return chunk;
      },
    });
    const error = await updatePartition(module, LABEL, bin).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VerifyError);
    expect((error as VerifyError).message).toMatch(/differs from what was written at offset \d+/);
    expect((error as VerifyError).details.deviceState).toMatch(/^modified: erased sector\(s\) 0x0, 0x1000.*run the operation again/);
    // Running it again puts things right.
    emulator.setFaultInjector(undefined);
    const again = await updatePartition(module, LABEL, bin);
    expect(again.verified).toBe(true);
    expect(emulator.readPartition(LABEL).subarray(0, bin.length)).toEqual(bin);
  });

  it('reads a sector again when the read-back came back garbled, and succeeds only if the second read matches', async () => {
    let garbled = 0;
    emulator.setFaultInjector({
      filterOutput(chunk) {
        // The first read-back carrying data after the writes: flip one byte on its way to the host.
        if (garbled === 0 && emulator.stats.flashBytesWritten > 0 && chunk.length > 200) {
          garbled++;
          const copy = Buffer.from(chunk);
          copy[150] = copy[150]! ^ 0x40;
          return copy;
        }
        return chunk;
      },
    });
    const logs: string[] = [];
    const report = await updatePartition(module, LABEL, bin, { onEvent: (e) => e.type === 'log' && logs.push(e.message) });
    expect(garbled).toBe(1);
    expect(report.verified).toBe(true);
    expect(logs.join('\n')).toMatch(/came back garbled; a second read matched/);
    expect(emulator.readPartition(LABEL).subarray(0, bin.length)).toEqual(bin);
  });

  it('fails clearly when the module resets mid-job, and says what it left', async () => {
    let writes = 0;
    emulator.setFaultInjector({
      onCommand(line) {
        if (line.startsWith('AT+SYSFLASH=1') && ++writes === 2) setImmediate(() => emulator.reset());
      },
    });
    const error = await updatePartition(module, LABEL, bin).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeviceError);
    expect((error as DeviceError).message).toMatch(/restarted/);
    expect((error as DeviceError).details.deviceState).toMatch(/^modified:/);
    emulator.setFaultInjector(undefined);
    // The session notices the reset (echo is back on) and re-initialises before the next command.
    expect((await updatePartition(module, LABEL, bin)).verified).toBe(true);
  });

  it('fails with DISCONNECTED when the module is unplugged mid-job', async () => {
    let writes = 0;
    emulator.setFaultInjector({
      onCommand(line) {
        if (line.startsWith('AT+SYSFLASH=1') && ++writes === 1) setImmediate(() => emulator.unplug());
      },
    });
    const error = await updatePartition(module, LABEL, bin).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DisconnectedError);
    expect((error as DisconnectedError).details.deviceState).toMatch(/^modified:/);
  });

  it('keeps going when the module answers busy p... to a command', async () => {
    let busyOnce = true;
    emulator.setFaultInjector({
      filterOutput(chunk) {
        return chunk;
      },
      onCommand(line) {
        // A stray byte arriving while the first write command runs is answered `busy p...`.
        if (busyOnce && line.startsWith('AT+SYSFLASH=1')) {
          busyOnce = false;
          emulator.receive(Buffer.from('X'));
        }
      },
    });
    const report = await updatePartition(module, LABEL, bin);
    expect(report.verified).toBe(true);
    expect(emulator.stats.busyReplies).toBeGreaterThan(0);
  });
});
