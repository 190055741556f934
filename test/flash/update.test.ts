/**
 * update() against a module: the in-process emulator by default, the real module when
 * AT_PKI_TEST_PORT is set (the test then uses its client_cert partition).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { EspAtModule } from '../../src/flash/module.js';
import { readRange } from '../../src/flash/read-range.js';
import { updatePartition } from '../../src/flash/update.js';
import type { OperationEvent } from '../../src/flash/events.js';
import { hardwarePort, testDevice, type TestDevice } from '../support/device.js';

const LABEL = 'client_cert';

function binOf(length: number, seed: number): Buffer {
  const bin = Buffer.alloc(length);
  for (let i = 0; i < length; i++) bin[i] = (i * 31 + seed * 7 + (i >> 8)) & 0xff;
  return bin;
}

let device: TestDevice;
let module: EspAtModule;

beforeEach(async () => {
  device = testDevice({ fill: 'garbage', seed: 3 });
  module = await EspAtModule.connect(device.url);
});

afterEach(async () => {
  await module.close();
  device.dispose();
});

async function wholePartition(): Promise<Buffer> {
  const partition = await module.partition(LABEL);
  if (device.emulator) return device.emulator.readPartition(LABEL);
  return readRange(module.session, partition, 0, partition.size);
}

describe('the partition table', () => {
  it.skipIf(hardwarePort !== undefined)('is asked twice per connection (two answers must agree), then kept', async () => {
    let asked = 0;
    device.emulator!.on('command', (line) => {
      if (line === 'AT+SYSFLASH?') asked++;
    });
    await module.partitions();
    await updatePartition(module, LABEL, binOf(100, 1));
    await module.partition('client_key');
    expect(asked).toBe(2);
  });
});

describe('updatePartition', () => {
  it('leaves exactly the bin followed by 0xFF in a partition that held garbage', async () => {
    const bin = binOf(2344, 1);
    const events: OperationEvent[] = [];
    const report = await updatePartition(module, LABEL, bin, { onEvent: (e) => events.push(e) });
    expect(report.unchanged).toBe(false);
    expect(report.verified).toBe(true);
    const content = await wholePartition();
    expect(content.subarray(0, bin.length)).toEqual(bin);
    expect(content.subarray(bin.length).every((b) => b === 0xff)).toBe(true);
    const phases = new Set(events.filter((e) => e.type === 'progress').map((e) => (e as { phase: string }).phase));
    expect([...phases]).toEqual(['compare', 'erase', 'write', 'verify']);
  });

  it('writes nothing the second time; at 115200 the sector after the bin is erased, not read', async () => {
    const bin = binOf(2344, 2);
    await updatePartition(module, LABEL, bin);
    device.emulator?.resetStats();
    const report = await updatePartition(module, LABEL, bin);
    expect(report).toMatchObject({ bytesWritten: 0, erasedSectors: 1, exactness: 'read 0x0–0xfff; erased 0x1000–0x1fff (cheaper than reading it at 115200 baud)' });
    if (device.emulator) expect(device.emulator.stats.flashBytesWritten).toBe(0);
  });

  it('finds stale bytes anywhere after an identical bin (exact partition state by default)', async () => {
    if (!device.emulator) return;
    const bin = binOf(2344, 2);
    for (const at of [bin.length + 256, 4096 + 1000]) {
      await updatePartition(module, LABEL, bin);
      device.emulator.writeRaw(LABEL, at, Buffer.alloc(32, 0x5a));
      const report = await updatePartition(module, LABEL, bin);
      expect(report.unchanged).toBe(false);
      const content = await wholePartition();
      expect(content.subarray(0, bin.length)).toEqual(bin);
      expect(content.subarray(bin.length).every((b) => b === 0xff)).toBe(true);
    }
  });

  it('rewrites with force, and clears what a longer earlier bin left behind', async () => {
    await updatePartition(module, LABEL, binOf(6000, 3));
    const shorter = binOf(1000, 4);
    const report = await updatePartition(module, LABEL, shorter, { force: true });
    expect(report.unchanged).toBe(false);
    const content = await wholePartition();
    expect(content.subarray(0, shorter.length)).toEqual(shorter);
    expect(content.subarray(shorter.length).every((b) => b === 0xff)).toBe(true);
  });

  it('pads a bin whose length is not a multiple of 4 with 0xFF', async () => {
    const bin = binOf(1001, 5);
    const report = await updatePartition(module, LABEL, bin);
    expect(report.length).toBe(1004);
    const content = await wholePartition();
    expect(content.subarray(0, 1001)).toEqual(bin);
    expect(content.subarray(1001, 1004)).toEqual(Buffer.from([0xff, 0xff, 0xff]));
  });

  it('refuses an unknown partition and a bin that does not fit, without touching flash', async () => {
    const before = await wholePartition();
    device.emulator?.resetStats();
    await expect(updatePartition(module, 'client_crt', binOf(100, 6))).rejects.toThrow(/no partition named "client_crt".*client_cert/);
    const partition = await module.partition(LABEL);
    const error = await updatePartition(module, LABEL, binOf(partition.size + 4, 7)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).message).toMatch(/does not fit/);
    expect(await wholePartition()).toEqual(before);
    if (device.emulator) {
      expect(device.emulator.stats.flashBytesWritten).toBe(0);
      expect(device.emulator.stats.flashBytesErased).toBe(0);
    }
  });
});

describe('updatePartition at 921600 baud', () => {
  it('reads the sectors after an identical bin instead of erasing them, and changes nothing', async () => {
    const fastDevice = testDevice({ fill: 'garbage', seed: 4, baudRate: 921600 });
    const fastModule = await EspAtModule.connect(fastDevice.url, { baudRate: 921600 });
    try {
      const bin = binOf(2344, 6);
      await updatePartition(fastModule, LABEL, bin);
      fastDevice.emulator?.resetStats();
      const report = await updatePartition(fastModule, LABEL, bin);
      expect(report).toMatchObject({ unchanged: true, erasedSectors: 0, bytesWritten: 0, exactness: 'read 0x0–0xfff; read 0x1000–0x1fff (all 0xFF)' });
      if (fastDevice.emulator) {
        expect(fastDevice.emulator.stats.flashBytesErased + fastDevice.emulator.stats.flashBytesWritten).toBe(0);
        fastDevice.emulator.writeRaw(LABEL, 4096 + 300, Buffer.alloc(32, 0));
        const again = await updatePartition(fastModule, LABEL, bin);
        expect(again).toMatchObject({ unchanged: false, erasedSectors: 1, bytesWritten: 0 });
        expect(fastDevice.emulator.readPartition(LABEL).subarray(bin.length).every((b) => b === 0xff)).toBe(true);
      }
    } finally {
      await fastModule.close();
      fastDevice.dispose();
    }
  });
});
