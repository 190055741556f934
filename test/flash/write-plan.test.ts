import { describe, expect, it } from 'vitest';
import { planWrite } from '../../src/flash/write-plan.js';

const SECTOR = 4096;

describe('planWrite', () => {
  it('does nothing when the content already matches', () => {
    const bytes = Buffer.alloc(6000, 0x5a);
    expect(planWrite(0, bytes, Buffer.from(bytes)).actions).toEqual([]);
  });

  it('writes erased flash without erasing, skipping bytes that stay 0xFF', () => {
    const desired = Buffer.alloc(16, 0xff);
    desired.write('abcd', 4, 'latin1');
    const plan = planWrite(0, Buffer.alloc(16, 0xff), desired);
    expect(plan.erasedSectors).toBe(0);
    expect(plan.actions).toEqual([{ sector: 0, erase: false, writes: [{ offset: 4, bytes: Buffer.from('abcd', 'latin1') }] }]);
  });

  it('erases a sector where a bit must go from 0 to 1, and only that sector', () => {
    const current = Buffer.alloc(2 * SECTOR, 0x00);
    const desired = Buffer.alloc(2 * SECTOR, 0x00);
    desired[SECTOR + 10] = 0x01;
    const plan = planWrite(0, current, desired);
    expect(plan.actions).toHaveLength(1);
    expect(plan.actions[0]!.sector).toBe(SECTOR);
    expect(plan.actions[0]!.erase).toBe(true);
    // After the erase every non-0xFF byte of the sector must be written again.
    expect(plan.bytesToWrite).toBe(SECTOR);
  });

  it('keeps writes 4-byte aligned and inside the range', () => {
    const current = Buffer.alloc(64, 0xff);
    const desired = Buffer.from(current);
    desired[5] = 0x00;
    desired[61] = 0x00;
    const plan = planWrite(4096 + 64, current, desired);
    for (const action of plan.actions) {
      for (const w of action.writes) {
        expect(w.offset % 4).toBe(0);
        expect(w.bytes.length % 4).toBe(0);
        expect(w.offset).toBeGreaterThanOrEqual(4096 + 64);
        expect(w.offset + w.bytes.length).toBeLessThanOrEqual(4096 + 128);
      }
    }
  });

  it('applying the plan to simulated NOR flash gives the desired bytes', () => {
    let seed = 1;
    const random = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) & 0xff;
    for (let round = 0; round < 50; round++) {
      const start = 4 * (random() % 8);
      const length = 4 * (1 + ((random() * 37) % 3000));
      const flash = Buffer.alloc(start + length + SECTOR * 2);
      for (let i = 0; i < flash.length; i++) flash[i] = random() | (round % 2 ? 0xf0 : 0);
      const desired = Buffer.alloc(length);
      for (let i = 0; i < length; i++) desired[i] = round % 3 === 0 ? flash[start + i]! & random() : random();
      const plan = planWrite(start, flash.subarray(start, start + length), desired);
      for (const action of plan.actions) {
        if (action.erase) flash.fill(0xff, action.sector, action.sector + SECTOR);
        for (const w of action.writes) for (let i = 0; i < w.bytes.length; i++) flash[w.offset + i]! &= w.bytes[i]!;
      }
      expect(Buffer.compare(flash.subarray(start, start + length), desired), `round ${round}`).toBe(0);
    }
  });

  it('eraseAll erases and rewrites every sector even when nothing differs', () => {
    const bytes = Buffer.alloc(SECTOR + 8, 0x00);
    const plan = planWrite(0, bytes, Buffer.from(bytes), { eraseAll: true });
    expect(plan.actions.map((a) => [a.sector, a.erase])).toEqual([
      [0, true],
      [SECTOR, true],
    ]);
    expect(plan.bytesToWrite).toBe(SECTOR + 8);
  });
});
