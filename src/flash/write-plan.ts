import { SECTOR_SIZE } from './partition-table.js';

/**
 * What to do to each 4 KiB sector so that a range of flash goes from `current` to `desired`
 * (pure: no I/O). NOR flash can only clear bits without an erase, so:
 * - a sector whose bytes already match is left alone;
 * - a sector where every change clears bits (current & desired === desired) is written without erase;
 * - any other sector is erased, then written.
 */
export interface SectorAction {
  /** Partition offset of the sector. */
  sector: number;
  erase: boolean;
  /** Spans to write after the (optional) erase, 4-byte aligned, as partition offsets. */
  writes: { offset: number; bytes: Buffer }[];
}

export interface WritePlan {
  actions: SectorAction[];
  erasedSectors: number;
  bytesToWrite: number;
}

const ERASED = 0xff;

/**
 * Plan the writes for `desired` at partition offset `start`, knowing the range holds `current`
 * (same length). `start` and the length are multiples of 4. Bytes of a sector outside the range are
 * not cared about (erased to 0xFF if the sector needs an erase): callers that must keep them widen
 * the range to whole sectors first. `eraseAll` treats the current content as unknown: every sector
 * is erased and written (`--force`, or after a chunk whose content is unknown).
 */
export function planWrite(start: number, current: Uint8Array, desired: Uint8Array, options: { eraseAll?: boolean } = {}): WritePlan {
  if (current.length !== desired.length) throw new RangeError('current and desired differ in length');
  const actions: SectorAction[] = [];
  const end = start + desired.length;
  for (let sector = Math.floor(start / SECTOR_SIZE) * SECTOR_SIZE; sector < end; sector += SECTOR_SIZE) {
    const from = Math.max(start, sector) - start;
    const to = Math.min(end, sector + SECTOR_SIZE) - start;
    const cur = current.subarray(from, to);
    const want = desired.subarray(from, to);
    if (!options.eraseAll && Buffer.compare(cur, want) === 0) continue;
    const erase = options.eraseAll === true || !onlyClearsBits(cur, want);
    // After an erase the sector reads 0xFF: write what is not 0xFF. Without one, write what changes.
    const base = erase ? Buffer.alloc(want.length, ERASED) : cur;
    actions.push({ sector, erase, writes: changedSpans(start + from, base, want) });
  }
  return {
    actions,
    erasedSectors: actions.filter((a) => a.erase).length,
    bytesToWrite: actions.reduce((sum, a) => sum + a.writes.reduce((s, w) => s + w.bytes.length, 0), 0),
  };
}

function onlyClearsBits(current: Uint8Array, desired: Uint8Array): boolean {
  for (let i = 0; i < desired.length; i++) if ((current[i]! & desired[i]!) !== desired[i]) return false;
  return true;
}

/** Maximal 4-byte-aligned spans where `desired` differs from `base`; short equal gaps are bridged. */
function changedSpans(offset: number, base: Uint8Array, desired: Uint8Array): { offset: number; bytes: Buffer }[] {
  // A new write command costs ~40 bytes of wire time; bridging a gap shorter than that is cheaper.
  const BRIDGE = 64;
  const spans: { offset: number; bytes: Buffer }[] = [];
  let i = 0;
  while (i < desired.length) {
    if (base[i] === desired[i]) {
      i++;
      continue;
    }
    const first = i - (i % 4);
    let last = i;
    let j = i + 1;
    while (j < desired.length && j - last <= BRIDGE) {
      if (base[j] !== desired[j]) last = j;
      j++;
    }
    const stop = Math.min(desired.length, last + 1 + ((4 - ((last + 1) % 4)) % 4));
    spans.push({ offset: offset + first, bytes: Buffer.from(desired.subarray(first, stop)) });
    i = stop;
  }
  return spans;
}
