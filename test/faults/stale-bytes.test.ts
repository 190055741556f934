/**
 * "Afterwards the partition holds exactly the bin followed by 0xFF" (README), also when the bytes
 * after the bin were left by an older, longer image or by an erase that a reset cut short.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createEmulator, removeEmulator, type EspAtEmulator } from '../../mock-device/index.js';
import { EspAtModule } from '../../src/flash/module.js';
import { updatePartition } from '../../src/flash/update.js';
import { encodePkiBin } from '../../src/pki/bin-format.js';
import type { PkiItem } from '../../src/pki/types.js';
import { registerMockScheme } from '../support/device.js';

const LABEL = 'client_cert';

function content(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) out[i] = 0x20 + ((i * 7 + seed * 13) % 90);
  return out;
}
const item = (length: number, seed: number): PkiItem => ({ type: 'cert', content: content(length, seed), source: `item${seed}` });

let emulator: EspAtEmulator;
let module: EspAtModule;
let n = 0;

beforeEach(async () => {
  registerMockScheme();
  emulator = createEmulator(`stale-${++n}`, { chip: 'esp32c3' });
  module = await EspAtModule.connect(`mock://esp32c3?id=stale-${n}`, { timeoutMs: 500 });
});
afterEach(async () => {
  await module.close().catch(() => {});
  removeEmulator(`stale-${n}`);
});

/** The partition holds exactly `bin` (padded to 4 with 0xFF) and 0xFF after it. */
function expectExactly(bin: Buffer): void {
  const partition = emulator.readPartition(LABEL);
  expect(partition.subarray(0, bin.length).equals(bin)).toBe(true);
  const firstStale = partition.subarray(bin.length).findIndex((b) => b !== 0xff);
  expect(firstStale, `stale byte at offset ${bin.length + firstStale}`).toBe(-1);
}

describe('nothing of an older image survives after the bin', () => {
  it('a shorter bin whose last sector equals the longer one’s (same items at the same offsets)', async () => {
    const long = encodePkiBin([item(2000, 1), item(2500, 2), item(1000, 3)]);
    const short = encodePkiBin([item(2000, 1), item(2500, 2)]);
    expect(short.length).toBeGreaterThan(4096);
    await updatePartition(module, LABEL, long);
    expectExactly(long);
    const report = await updatePartition(module, LABEL, short);
    expect(report.verified).toBe(true);
    expectExactly(short);
  });

  it('an erase of the sectors after the bin cut short by a reset, then the same update again', async () => {
    const long = encodePkiBin([item(3000, 1), item(3000, 2)]);
    const short = encodePkiBin([item(1500, 4)]);
    await updatePartition(module, LABEL, long);
    // The update to the short bin loses power while erasing the partition's last sector, whichever
    // command that is: its last sector stays half-erased.
    const size = emulator.findPartition(LABEL)!.size;
    let cuts = 0;
    emulator.setFaultInjector({
      onCommand: (line) => {
        const m = /^AT\+SYSFLASH=0,"client_cert"(?:,(\d+),(\d+))?$/.exec(line);
        if (!m || (m[1] !== undefined && Number(m[1]) + Number(m[2]) !== size)) return undefined;
        cuts++;
        return { kind: 'reset', flashCut: (op, _address, length) => (op === 'erase' ? { done: length - 4096, torn: Buffer.alloc(4096, 0x0f) } : undefined) };
      },
    });
    await expect(updatePartition(module, LABEL, short)).rejects.toThrow(/restarted/);
    expect(cuts).toBe(1);
    emulator.setFaultInjector(undefined);
    const again = await updatePartition(module, LABEL, short);
    expect(again.verified).toBe(true);
    expectExactly(short);
  });

  it('whatever an interrupted job left after the bin: the bin is there, stale bytes after it', async () => {
    const bin = encodePkiBin([item(1500, 4)]);
    emulator.writeRaw(LABEL, 0, Buffer.concat([bin, Buffer.alloc(4096 - bin.length, 0xff)]));
    emulator.writeRaw(LABEL, 4096, content(4096, 9));
    const report = await updatePartition(module, LABEL, bin);
    expect(report.unchanged).toBe(false);
    expectExactly(bin);
    // Now it is clean: a second run writes nothing (at 115200 it erases the sector after the bin
    // rather than reading it).
    emulator.resetStats();
    expect((await updatePartition(module, LABEL, bin)).bytesWritten).toBe(0);
    expect(emulator.stats.flashBytesWritten).toBe(0);
  });

  it('stale bytes right after the bin, inside its last sector', async () => {
    const bin = encodePkiBin([item(1500, 4)]);
    emulator.writeRaw(LABEL, 0, bin);
    emulator.writeRaw(LABEL, bin.length, content(100, 5));
    await updatePartition(module, LABEL, bin);
    expectExactly(bin);
  });
});
