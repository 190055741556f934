/**
 * The entry state bitmap of a page: 2 bits per entry, entry i at bits 2i…2i+1 of the 32 bytes
 * (least significant first). 0b11 empty, 0b10 written, 0b00 erased; 0b01 is not a state NVS writes.
 */
export type EntryState = 'empty' | 'written' | 'erased' | 'illegal';

const STATES: readonly EntryState[] = ['erased', 'illegal', 'written', 'empty'];
const CODES: Readonly<Record<Exclude<EntryState, 'illegal'>, number>> = { empty: 0b11, written: 0b10, erased: 0b00 };

export function entryState(bitmap: Uint8Array, index: number): EntryState {
  return STATES[(bitmap[index >> 2]! >> ((index & 3) * 2)) & 3]!;
}

/** Set an entry's state in place (only clears bits, as on flash). */
export function setEntryState(bitmap: Uint8Array, index: number, state: Exclude<EntryState, 'illegal' | 'empty'>): void {
  const shift = (index & 3) * 2;
  bitmap[index >> 2] = bitmap[index >> 2]! & ~((~CODES[state] & 3) << shift);
}
