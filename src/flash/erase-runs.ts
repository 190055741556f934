import { SECTOR_SIZE } from './partition-table.js';

/** One erase command's range: partition offset and length, multiples of 4 KiB. */
export interface EraseRun {
  offset: number;
  length: number;
}

/**
 * Merge sectors (partition offsets) and ranges into as few erase commands as possible: adjacent or
 * overlapping ones become one `AT+SYSFLASH=0` (the module erases sector by sector either way, so this
 * only saves the command round trips, ~4 ms each at 115200 baud). Sorted by offset.
 */
export function mergeEraseRuns(sectors: Iterable<number>, ranges: Iterable<EraseRun> = []): EraseRun[] {
  const all: EraseRun[] = [];
  for (const sector of sectors) all.push({ offset: sector, length: SECTOR_SIZE });
  for (const range of ranges) if (range.length > 0) all.push({ ...range });
  all.sort((a, b) => a.offset - b.offset);
  const runs: EraseRun[] = [];
  for (const range of all) {
    const last = runs[runs.length - 1];
    if (last && range.offset <= last.offset + last.length) {
      last.length = Math.max(last.length, range.offset + range.length - last.offset);
    } else {
      runs.push({ ...range });
    }
  }
  return runs;
}
