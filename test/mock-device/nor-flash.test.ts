import { describe, expect, it } from 'vitest';
import { NorFlash, pagesSpanned, sectorsSpanned } from '../../mock-device/nor-flash.js';

describe('NorFlash', () => {
  it('starts erased by default; garbage is deterministic per seed and not erased', () => {
    expect(new NorFlash(4096).read(0, 4096).every((b) => b === 0xff)).toBe(true);
    const a = new NorFlash(8192, 'garbage', 5).snapshot();
    expect(a.equals(new NorFlash(8192, 'garbage', 5).snapshot())).toBe(true);
    expect(a.equals(new NorFlash(8192, 'garbage', 6).snapshot())).toBe(false);
    expect(a.filter((b) => b === 0xff).length).toBeLessThan(100);
  });

  it('program ANDs, erase sets 0xFF, overwrite replaces', () => {
    const flash = new NorFlash(8192);
    flash.program(10, Buffer.from([0xf0]));
    flash.program(10, Buffer.from([0x3c]));
    expect(flash.read(10, 1)[0]).toBe(0x30);
    flash.overwrite(10, Buffer.from([0xc3]));
    expect(flash.read(10, 1)[0]).toBe(0xc3);
    flash.erase(0, 4096);
    expect(flash.read(10, 1)[0]).toBe(0xff);
  });

  it('refuses out-of-image access and images of the wrong size', () => {
    const flash = new NorFlash(4096);
    expect(() => flash.read(4000, 100)).toThrow(RangeError);
    expect(() => flash.program(-1, Buffer.alloc(1))).toThrow(RangeError);
    expect(() => flash.load(Buffer.alloc(10))).toThrow(RangeError);
  });

  it('counts the pages and sectors an operation touches', () => {
    expect(pagesSpanned(0, 256)).toBe(1);
    expect(pagesSpanned(255, 2)).toBe(2);
    expect(pagesSpanned(0, 0)).toBe(0);
    expect(sectorsSpanned(0x1000, 0x2000)).toBe(2);
  });
});
