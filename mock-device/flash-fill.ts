/**
 * Initial flash content. Real modules come with either erased user partitions (0xFF) or leftovers
 * from earlier use; `garbage` gives deterministic non-erased bytes so tests can prove the host
 * erases before writing (NOR writes only clear bits).
 */

/** `ff`: erased flash (default). `garbage`: pseudo-random bytes from a seed. */
export type FlashFill = 'ff' | 'garbage';

export const FLASH_FILLS: readonly FlashFill[] = ['ff', 'garbage'];

/** Fill `target` in place. The same seed and size always give the same bytes. */
export function fillFlash(target: Buffer, fill: FlashFill, seed: number): void {
  if (fill === 'ff') {
    target.fill(0xff);
    return;
  }
  // mulberry32: tiny, fast, good enough for test data.
  let state = seed >>> 0;
  for (let i = 0; i < target.length; i += 4) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const word = (t ^ (t >>> 14)) >>> 0;
    for (let b = 0; b < 4 && i + b < target.length; b++) target[i + b] = (word >>> (8 * b)) & 0xff;
  }
}
