/**
 * A small seeded PRNG (mulberry32) and seed derivation, so that every fault knob draws from its own
 * reproducible stream: the same seed gives the same faults at the same byte / command positions.
 */

export class Prng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** A fresh 32-bit seed from this stream (for a sub-stream drawn lazily). */
  seed(): number {
    return Math.floor(this.next() * 4294967296) >>> 0;
  }

  /**
   * Trials up to and including the next success of a Bernoulli(p) process (≥ 1): the distance to
   * the next faulty byte, independent of how the bytes are chunked.
   */
  geometric(p: number): number {
    if (p >= 1) return 1;
    if (p <= 0) return Number.POSITIVE_INFINITY;
    const u = this.next();
    return 1 + Math.floor(Math.log(1 - u) / Math.log(1 - p));
  }
}

/** A seed for the sub-stream `salt` of `seed` (FNV-1a over the salt, mixed with the seed). */
export function deriveSeed(seed: number, salt: string): number {
  let h = (0x811c9dc5 ^ (seed >>> 0)) >>> 0;
  for (let i = 0; i < salt.length; i++) {
    h ^= salt.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  // One round of mulberry32's finaliser, so nearby seeds give unrelated streams.
  h = Math.imul(h ^ (h >>> 15), h | 1);
  h ^= h + Math.imul(h ^ (h >>> 7), h | 61);
  return (h ^ (h >>> 14)) >>> 0;
}
