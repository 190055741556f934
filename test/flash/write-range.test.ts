/**
 * writeRange (`at-pki write`): reads only what must survive — the parts of the first and last sector
 * outside the range — never what it is about to overwrite; keeps every byte around the range; reports
 * the range as asked. The emulator's counters show what went over the line.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createEmulator, removeEmulator, type EspAtEmulator, type EspAtEmulatorOptions } from '../../mock-device/index.js';
import type { OperationEvent } from '../../src/flash/events.js';
import { EspAtModule } from '../../src/flash/module.js';
import { writeRange } from '../../src/flash/write-range.js';
import { registerMockScheme } from '../support/device.js';

const SECTOR = 4096;

function pattern(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) out[i] = (i * 31 + seed * 7 + (i >> 8)) & 0xff;
  return out;
}

let emulator: EspAtEmulator;
let module: EspAtModule | undefined;
let commands: string[] = [];

afterEach(async () => {
  await module?.close();
  module = undefined;
  removeEmulator('write-range');
});

async function connect(options: EspAtEmulatorOptions = {}): Promise<EspAtModule> {
  registerMockScheme();
  emulator = createEmulator('write-range', { chip: 'esp32', ...options });
  module = await EspAtModule.connect('mock://esp32?id=write-range');
  await module.partitions();
  commands = [];
  emulator.on('command', (line) => commands.push(line));
  emulator.resetStats();
  return module;
}

const reads = (): string[] => commands.filter((c) => c.startsWith('AT+SYSFLASH=2,'));

describe('writeRange reads only what must survive', () => {
  it('into erased flash: a 64-byte probe, then the write, then the read-back — the range is never read before', async () => {
    const m = await connect();
    const partition = await m.partition('fatfs');
    const bytes = pattern(16 * SECTOR, 1);
    const report = await writeRange(m.session, partition, 0, bytes);
    expect(emulator.stats.flashBytesRead).toBe(64 + bytes.length);
    expect(emulator.stats.flashBytesErased).toBe(0);
    expect(report).toMatchObject({ offset: 0, length: bytes.length, erasedSectors: 0, bytesWritten: bytes.length, bytesRead: 64 + bytes.length, bytesVerified: bytes.length });
    expect(emulator.readPartition('fatfs').subarray(0, bytes.length)).toEqual(bytes);
  });

  it('at offset 0x1800 between other data: reads only 0x1000–0x1800 and the rest of the last sector, keeps both, reports offset 0x1800', async () => {
    const m = await connect({ fill: 'garbage', seed: 3 });
    const partition = await m.partition('fatfs');
    const before = emulator.readPartition('fatfs');
    const bytes = pattern(2 * SECTOR, 2); // 0x1800 … 0x3800: sectors 0x1000, 0x2000, 0x3000
    const report = await writeRange(m.session, partition, 0x1800, bytes);
    expect(report).toMatchObject({ offset: 0x1800, length: bytes.length, verified: true });

    const after = emulator.readPartition('fatfs');
    expect(after.subarray(0x1800, 0x1800 + bytes.length)).toEqual(bytes);
    expect(after.subarray(0, 0x1800)).toEqual(before.subarray(0, 0x1800));
    expect(after.subarray(0x3800).equals(before.subarray(0x3800)), 'bytes after the range kept').toBe(true);

    // Before the first erase or write: the part of 0x1000 before the range, the probe, the part of 0x3000 after it.
    const firstChange = commands.findIndex((c) => /^AT\+SYSFLASH=[01],/.test(c));
    expect(reads().filter((c) => commands.indexOf(c) < firstChange)).toEqual([
      'AT+SYSFLASH=2,"fatfs",4096,2048',
      'AT+SYSFLASH=2,"fatfs",6144,64',
      'AT+SYSFLASH=2,"fatfs",14336,2048',
    ]);
    // Data there: every touched sector erased (cheaper than reading it), all of them read back.
    expect(report.erasedSectors).toBe(3);
    expect(emulator.stats.flashBytesErased).toBe(3 * SECTOR);
    expect(report.bytesVerified).toBe(3 * SECTOR);
    expect(report.bytesRead).toBe(2048 + 64 + 2048 + 3 * SECTOR);
    expect(emulator.stats.flashBytesRead).toBe(report.bytesRead);
  });

  it('a guess of erased flash that is wrong for a later sector: that sector is erased and written again, the bytes around the range kept', async () => {
    const m = await connect();
    const partition = await m.partition('fatfs');
    emulator.writeRaw('fatfs', 0x800, Buffer.from('keep me, I am before the range'));
    emulator.writeRaw('fatfs', 0x2100, Buffer.from('stale bytes inside the range'));
    emulator.writeRaw('fatfs', 0x2f00, Buffer.from('keep me too, after the range'));
    const before = emulator.readPartition('fatfs');
    const offset = 0xc00;
    const bytes = pattern(0x2100, 4); // 0xc00 … 0x2d00: sectors 0x0, 0x1000, 0x2000
    const report = await writeRange(m.session, partition, offset, bytes);
    const end = offset + bytes.length;
    const after = emulator.readPartition('fatfs');
    expect(after.subarray(offset, end)).toEqual(bytes);
    expect(after.subarray(0, offset)).toEqual(before.subarray(0, offset));
    expect(after.subarray(end, 0x4000)).toEqual(before.subarray(end, 0x4000));
    expect(report.erasedSectors).toBe(1);
    expect(emulator.stats.flashBytesErased).toBe(SECTOR);
  });

  it('bytes already there and no longer than the probe: read once, nothing written', async () => {
    const m = await connect({ fill: 'garbage', seed: 8 });
    const partition = await m.partition('fatfs');
    const held = emulator.readPartition('fatfs').subarray(0x100, 0x140);
    const report = await writeRange(m.session, partition, 0x100, held);
    expect(report).toMatchObject({ unchanged: true, offset: 0x100, length: 64, bytesWritten: 0, erasedSectors: 0 });
    expect(emulator.stats.flashBytesWritten + emulator.stats.flashBytesErased).toBe(0);
  });

  it('all-0xFF bytes over data: the sector is erased (never a guess that plans nothing), the rest kept', async () => {
    const m = await connect({ fill: 'garbage', seed: 9 });
    const partition = await m.partition('fatfs');
    const before = emulator.readPartition('fatfs');
    const report = await writeRange(m.session, partition, 0x200, Buffer.alloc(0x400, 0xff));
    const after = emulator.readPartition('fatfs');
    expect(after.subarray(0x200, 0x600).every((b) => b === 0xff)).toBe(true);
    expect(after.subarray(0, 0x200)).toEqual(before.subarray(0, 0x200));
    expect(after.subarray(0x600).equals(before.subarray(0x600)), 'bytes after the range kept').toBe(true);
    expect(report).toMatchObject({ unchanged: false, erasedSectors: 1 });
  });

  it('progress: a read phase for what must survive, then erase, write and verify, each phase once and in order', async () => {
    const m = await connect({ fill: 'garbage', seed: 10 });
    const partition = await m.partition('fatfs');
    const events: OperationEvent[] = [];
    await writeRange(m.session, partition, 0x1800, pattern(SECTOR, 5), { onEvent: (e) => events.push(e) });
    const phases = events.filter((e) => e.type === 'progress').map((e) => (e as { phase: string }).phase);
    const runs = phases.filter((phase, i) => phase !== phases[i - 1]);
    expect(runs).toEqual(['read', 'erase', 'write', 'verify']);
  });
});
