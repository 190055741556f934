/**
 * writeImage's fast paths, against the emulator (its counters show what went over the line):
 * the erased-flash probe instead of a comparison read, merged erases, read-back of changed sectors only.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createEmulator, removeEmulator, type EspAtEmulator, type EspAtEmulatorOptions } from '../../mock-device/index.js';
import { AbortedError, type AtPkiError } from '../../src/errors.js';
import { mergeEraseRuns } from '../../src/flash/erase-runs.js';
import type { OperationEvent } from '../../src/flash/events.js';
import { EspAtModule } from '../../src/flash/module.js';
import { writeImage } from '../../src/flash/write-image.js';
import { registerMockScheme } from '../support/device.js';

const SECTOR = 4096;

function pattern(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) out[i] = (i * 29 + seed * 11 + (i >> 7)) & 0xff;
  return out;
}

let emulator: EspAtEmulator;
let module: EspAtModule | undefined;
let commands: string[] = [];

afterEach(async () => {
  await module?.close();
  module = undefined;
  removeEmulator('write-image');
});

async function connect(options: EspAtEmulatorOptions = {}, timeoutMs?: number): Promise<EspAtModule> {
  registerMockScheme();
  emulator = createEmulator('write-image', { chip: 'esp32', ...options });
  module = await EspAtModule.connect('mock://esp32?id=write-image', { timeoutMs });
  await module.partitions();
  commands = [];
  emulator.on('command', (line) => commands.push(line));
  emulator.resetStats();
  return module;
}

const sysflash = (op: number): string[] => commands.filter((c) => c.startsWith(`AT+SYSFLASH=${op},`));

describe('writeImage on erased flash', () => {
  it('reads 64 bytes instead of the whole range before writing, and reads everything back', async () => {
    const m = await connect();
    const partition = await m.partition('fatfs');
    const bytes = pattern(3 * SECTOR, 1);
    const events: OperationEvent[] = [];
    const report = await writeImage(m.session, partition, 0, bytes, { onEvent: (e) => events.push(e) });
    expect(report).toMatchObject({ unchanged: false, erasedSectors: 0, bytesWritten: bytes.length, bytesRead: 64 + bytes.length });
    expect(emulator.stats.flashBytesRead).toBe(64 + bytes.length);
    expect(emulator.stats.flashBytesErased).toBe(0);
    expect(emulator.readPartition('fatfs').subarray(0, bytes.length)).toEqual(bytes);
    expect(sysflash(2)[0]).toBe('AT+SYSFLASH=2,"fatfs",0,64');
    const phases = [...new Set(events.filter((e) => e.type === 'progress').map((e) => (e as { phase: string }).phase))];
    // No erase is needed, so no erase events: each phase's events come in order, none interleaved.
    expect(phases).toEqual(['compare', 'write', 'verify']);
  });

  it('erases and rewrites a sector that was not erased after all (the read-back checks the guess)', async () => {
    const m = await connect();
    const partition = await m.partition('fatfs');
    emulator.writeRaw('fatfs', SECTOR + 100, Buffer.from('left over from before'));
    const bytes = pattern(3 * SECTOR, 2);
    const events: OperationEvent[] = [];
    const report = await writeImage(m.session, partition, 0, bytes, { onEvent: (e) => events.push(e) });
    expect(report.verified).toBe(true);
    expect(report.erasedSectors).toBe(1);
    expect(emulator.readPartition('fatfs').subarray(0, bytes.length)).toEqual(bytes);
    expect(sysflash(0)).toEqual([`AT+SYSFLASH=0,"fatfs",${SECTOR},${SECTOR}`]);
    expect(events.some((e) => e.type === 'log' && /sector 0x1000 of fatfs was not erased after all/.test(e.message))).toBe(true);
  });

  it('compares as before when the probe finds data', async () => {
    const m = await connect({ fill: 'garbage', seed: 4 });
    const partition = await m.partition('fatfs');
    const bytes = pattern(2 * SECTOR, 3);
    await writeImage(m.session, partition, 0, bytes);
    expect(sysflash(2).slice(0, 2)).toEqual(['AT+SYSFLASH=2,"fatfs",0,64', 'AT+SYSFLASH=2,"fatfs",64,4096']);
    expect(emulator.readPartition('fatfs').subarray(0, bytes.length)).toEqual(bytes);
  });
});

describe('writeImage erases and reads back only what it must', () => {
  it('erases contiguous sectors and the tail with one command', async () => {
    const m = await connect({ fill: 'garbage', seed: 5 });
    const partition = await m.partition('client_cert'); // 8 KiB
    const bytes = pattern(SECTOR + 1000, 4);
    const report = await writeImage(m.session, partition, 0, bytes, { eraseAfter: { offset: 2 * SECTOR, length: partition.size - 2 * SECTOR } });
    expect(report.erasedSectors).toBe(2);
    expect(sysflash(0)).toEqual(['AT+SYSFLASH=0,"client_cert"']); // the whole partition, 2-parameter form
    const content = emulator.readPartition('client_cert');
    expect(content.subarray(0, bytes.length)).toEqual(bytes);
  });

  it('reads back only the sectors it changed (the others matched in the comparison)', async () => {
    const m = await connect({ fill: 'garbage', seed: 6 });
    const partition = await m.partition('fatfs');
    const first = pattern(4 * SECTOR, 5);
    await writeImage(m.session, partition, 0, first);
    const second = Buffer.from(first);
    second.fill(0x00, 2 * SECTOR + 10, 2 * SECTOR + 20); // sector 2 only, bits cleared: no erase needed
    emulator.resetStats();
    const report = await writeImage(m.session, partition, 0, second);
    expect(report).toMatchObject({ erasedSectors: 0, bytesRead: 4 * SECTOR + SECTOR });
    expect(emulator.stats.flashBytesRead).toBe(4 * SECTOR + SECTOR);
    expect(emulator.readPartition('fatfs').subarray(0, second.length)).toEqual(second);
  });

  it('writes in chunks of chunkSize, and refuses sizes the firmware cannot take', async () => {
    const m = await connect();
    const partition = await m.partition('fatfs');
    await writeImage(m.session, partition, 0, pattern(SECTOR, 7), { chunkSize: 1024 });
    expect(sysflash(1)).toHaveLength(4);
    await expect(writeImage(m.session, partition, 0, pattern(8, 8), { chunkSize: 8192 })).rejects.toThrow(RangeError);
    await expect(writeImage(m.session, partition, 0, pattern(8, 8), { chunkSize: 1022 })).rejects.toThrow(RangeError);
  });
});

describe('what writeImage reports is exactly what it did', () => {
  it('Ctrl-C during a write lists only the sectors whose data was sent', async () => {
    const m = await connect();
    const partition = await m.partition('fatfs');
    const controller = new AbortController();
    const onEvent = (event: OperationEvent): void => {
      // Cancelled while the first sector's chunk is being answered: the next chunk must not go out.
      if (event.type === 'progress' && event.phase === 'write' && event.done === SECTOR) controller.abort(new Error('interrupted (Ctrl-C)'));
    };
    const error = (await writeImage(m.session, partition, 0, pattern(3 * SECTOR, 9), { signal: controller.signal, onEvent }).catch((e: unknown) => e)) as AtPkiError;
    expect(error).toBeInstanceOf(AbortedError);
    expect(emulator.stats.flashBytesWritten).toBe(SECTOR);
    expect(error.details.deviceState).toBe('modified: wrote into sector(s) 0x0 of fatfs; its content is incomplete — run the operation again');
  });

  it('counts every sector erase the module did, also when a stalled chunk is erased and written again', async () => {
    const m = await connect({ fill: 'garbage', seed: 12 }, 500);
    const partition = await m.partition('fatfs');
    const bytes = pattern(2 * SECTOR, 10);
    // One byte of the first chunk's data lost on the way: the module waits for it, the host tops up.
    emulator.setFaults({ seed: 1, dropIn: { at: [600] } });
    const report = await writeImage(m.session, partition, 0, bytes, { force: true });
    emulator.setFaults(undefined);
    expect(report.recoveries).toBe(1);
    expect(report.erasedSectors * SECTOR).toBe(emulator.stats.flashBytesErased);
    expect(report.erasedSectors).toBe(3);
    expect(emulator.readPartition('fatfs').subarray(0, bytes.length)).toEqual(bytes);
  });

  it('reports the bytes it read back to verify', async () => {
    const m = await connect({ fill: 'garbage', seed: 13 });
    const partition = await m.partition('client_cert');
    const bytes = pattern(SECTOR + 1000, 11);
    emulator.resetStats();
    const report = await writeImage(m.session, partition, 0, bytes, { force: true });
    expect(report.bytesVerified).toBe(bytes.length);
    expect(report.bytesRead).toBe(emulator.stats.flashBytesRead);
  });
});

describe('mergeEraseRuns', () => {
  it('joins adjacent and overlapping sectors and ranges, sorted', () => {
    expect(mergeEraseRuns([8192, 0, 4096, 20480], [{ offset: 12288, length: 4096 }, { offset: 40960, length: 0 }])).toEqual([
      { offset: 0, length: 16384 },
      { offset: 20480, length: 4096 },
    ]);
    expect(mergeEraseRuns([4096], [{ offset: 0, length: 8192 }])).toEqual([{ offset: 0, length: 8192 }]);
    expect(mergeEraseRuns([])).toEqual([]);
  });
});
