import { InputError } from '../errors.js';
import type { Partition } from './partition-table.js';

/** Refuse a range that does not lie inside the partition, before anything is sent to the module. */
export function checkRange(partition: Partition, offset: number, length: number, what: string): void {
  if (!Number.isSafeInteger(offset) || offset < 0) throw new InputError(`${what}: offset must be a whole number ≥ 0, got ${offset}`);
  if (!Number.isSafeInteger(length) || length < 0) throw new InputError(`${what}: length must be a whole number ≥ 0, got ${length}`);
  if (offset + length > partition.size) {
    throw new InputError(
      `${what}: ${length} bytes at offset ${offset} do not fit in partition ${partition.label} (${partition.size} bytes)`,
      { details: { partition: partition.label, offset, length, size: partition.size } },
    );
  }
}

/** Writes go in 4-byte units (protocol §2.5: the firmware documents 4-byte aligned PKI writes). */
export function checkWriteAlignment(offset: number, what: string): void {
  if (offset % 4 !== 0) throw new InputError(`${what}: offset ${offset} is not a multiple of 4`);
}
