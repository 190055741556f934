/**
 * A whole-image NOR flash: erase sets bytes to 0xFF, programming can only clear bits (the new
 * content is the bitwise AND of old and new). The image covers flash addresses 0 … size-1, so a
 * state file is a plain flash dump.
 */
import { fillFlash, type FlashFill } from './flash-fill.js';

export const SECTOR_SIZE = 4096;
export const PAGE_SIZE = 256;

export class NorFlash {
  private image: Buffer;

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
    for (let i = 0; i < data.length; i++) this.image[address + i]! &= data[i]!;
  }

  /** Erase to 0xFF. Callers enforce sector alignment where the firmware does. */
  erase(address: number, length: number): void {
    this.checkRange(address, length);
    this.image.fill(0xff, address, address + length);
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
