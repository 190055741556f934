/**
 * A whole-image NOR flash: erase sets bytes to 0xFF, programming can only clear bits (the new
 * content is the bitwise AND of old and new). The image covers flash addresses 0 … size-1, so a
 * state file is a plain flash dump.
 */
import { fillFlash, type FlashFill } from './flash-fill.js';

export const SECTOR_SIZE = 4096;
export const PAGE_SIZE = 256;

export type FlashOperation = 'erase' | 'program';

/**
 * How far an interrupted erase/program got (a reset or power loss): the first `done` bytes were
 * completed; for an erase, the next `torn.length` bytes got the bits set in `torn` back to 1.
 */
export interface FlashCut {
  done: number;
  torn?: Uint8Array;
}

/** Thrown by erase/program when the interrupt hook cut them short (the module must reset now). */
export class FlashInterrupted extends Error {
  constructor(
    readonly operation: FlashOperation,
    readonly address: number,
    readonly length: number,
    readonly done: number,
  ) {
    super(`flash ${operation} at 0x${address.toString(16)}+${length} interrupted after ${done} bytes`);
    this.name = 'FlashInterrupted';
  }
}

export class NorFlash {
  private image: Buffer;
  /** Fault hook: asked before every erase/program; a FlashCut stops it part-way and throws FlashInterrupted. */
  interruptHook: ((operation: FlashOperation, address: number, length: number) => FlashCut | undefined) | undefined;

  constructor(size: number, fill: FlashFill = 'ff', seed = 1) {
    this.image = Buffer.alloc(size);
    fillFlash(this.image, fill, seed);
  }

  get size(): number {
    return this.image.length;
  }

  /** A copy of `length` bytes at `address`. */
  read(address: number, length: number): Buffer {
    this.checkRange(address, length);
    return Buffer.from(this.image.subarray(address, address + length));
  }

  /** NOR program: AND `data` onto the existing bytes. */
  program(address: number, data: Uint8Array): void {
    this.checkRange(address, data.length);
    const cut = this.interruptHook?.('program', address, data.length);
    const end = cut ? Math.max(0, Math.min(data.length, cut.done)) : data.length;
    for (let i = 0; i < end; i++) this.image[address + i]! &= data[i]!;
    if (cut) throw new FlashInterrupted('program', address, data.length, end);
  }

  /** Erase to 0xFF. Callers enforce sector alignment where the firmware does. */
  erase(address: number, length: number): void {
    this.checkRange(address, length);
    const cut = this.interruptHook?.('erase', address, length);
    if (!cut) {
      this.image.fill(0xff, address, address + length);
      return;
    }
    const done = Math.max(0, Math.min(length, cut.done));
    this.image.fill(0xff, address, address + done);
    const torn = cut.torn ?? new Uint8Array(0);
    for (let i = 0; i < torn.length && done + i < length; i++) this.image[address + done + i]! |= torn[i]!;
    throw new FlashInterrupted('erase', address, length, done);
  }

  /** Replace bytes outright (no NOR rules): for tests and fixtures that set up content. */
  overwrite(address: number, data: Uint8Array): void {
    this.checkRange(address, data.length);
    this.image.set(data, address);
  }

  /** A copy of the whole image. */
  snapshot(): Buffer {
    return Buffer.from(this.image);
  }

  /** Replace the whole image; `image` must have exactly this flash's size. */
  load(image: Uint8Array): void {
    if (image.length !== this.image.length) {
      throw new RangeError(`flash image is ${image.length} bytes, expected ${this.image.length}`);
    }
    this.image = Buffer.from(image);
  }

  private checkRange(address: number, length: number): void {
    if (!Number.isInteger(address) || !Number.isInteger(length) || address < 0 || length < 0 || address + length > this.image.length) {
      throw new RangeError(`flash range 0x${address.toString(16)}+${length} outside 0..0x${this.image.length.toString(16)}`);
    }
  }
}

/** Number of 256-byte pages touched by a program of `length` bytes at `address`. */
export function pagesSpanned(address: number, length: number): number {
  if (length <= 0) return 0;
  return Math.floor((address + length - 1) / PAGE_SIZE) - Math.floor(address / PAGE_SIZE) + 1;
}

/** Number of 4 KiB sectors touched by an erase of `length` bytes at `address`. */
export function sectorsSpanned(address: number, length: number): number {
  if (length <= 0) return 0;
  return Math.floor((address + length - 1) / SECTOR_SIZE) - Math.floor(address / SECTOR_SIZE) + 1;
}
