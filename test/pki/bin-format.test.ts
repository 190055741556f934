import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { decodePkiBin, encodePkiBin, layoutPkiBin, pkiBinLength } from '../../src/pki/bin-format.js';
import type { PkiItem } from '../../src/pki/types.js';
import { atpkiVectors } from './paths.js';

const vectors = atpkiVectors();

function item(type: PkiItem['type'], text: string): PkiItem {
  return { type, content: Buffer.from(text) };
}

/** A header + raw item bytes, for hand-made (broken) bins. */
function rawBin(count: number, length: number, ...items: number[][]): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt16LE(0xf1f1, 0);
  header.writeUInt16LE(count, 2);
  header.writeUInt32LE(length, 4);
  return Buffer.concat([header, ...items.map((bytes) => Buffer.from(bytes))]);
}

function decodeFailure(bytes: Uint8Array): InputError {
  try {
    decodePkiBin(bytes);
  } catch (error) {
    expect(error).toBeInstanceOf(InputError);
    return error as InputError;
  }
  throw new Error('decodePkiBin accepted the bin');
}

describe('reference vectors (test/vectors/atpki)', () => {
  it('has cases to check', () => {
    expect(vectors.map((vector) => vector.name)).toEqual(expect.arrayContaining(['client_cert', 'client_key', 'client_ca', 'mixed_types']));
  });

  describe.each(vectors)('$name', (vector) => {
    const items: PkiItem[] = vector.pairs.map(({ type, file }) => ({ type, content: readFileSync(join(vector.dir, file)), source: file }));

    it('encodes byte for byte like AtPKI.py', () => {
      expect(encodePkiBin(items).equals(vector.expected)).toBe(true);
    });

    it('decodes back to the same items, and re-encodes to the same bytes', () => {
      const decoded = decodePkiBin(vector.expected);
      expect(decoded.warnings).toEqual([]);
      expect(decoded.length).toBe(vector.expected.length);
      expect(decoded.trailingBytes).toBe(0);
      const { slots } = layoutPkiBin(items);
      expect(decoded.items.map(({ type, id, offset }) => ({ type, id, offset }))).toEqual(
        slots.map(({ item: { type }, id, offset }) => ({ type, id, offset })),
      );
      decoded.items.forEach((found, n) => expect(Buffer.from(found.content).equals(slots[n]!.item.content as Buffer)).toBe(true));
      expect(encodePkiBin(decoded.items).equals(vector.expected)).toBe(true);
    });
  });

  it('matches the documented client_cert example (header f1 f1 02 00 20 09 00 00, first item 02 00 8c 04)', () => {
    const bytes = vectors.find((vector) => vector.name === 'client_cert')!.expected;
    expect([...bytes.subarray(0, 12)]).toEqual([0xf1, 0xf1, 0x02, 0x00, 0x20, 0x09, 0x00, 0x00, 0x02, 0x00, 0x8c, 0x04]);
  });
});

describe('encodePkiBin', () => {
  it('groups items by type in order of first appearance, numbering each type from 0', () => {
    const bin = encodePkiBin([item('key', 'K0'), item('cert', 'C0'), item('key', 'K1'), item('ca', 'A0'), item('cert', 'C1')]);
    const decoded = decodePkiBin(bin);
    expect(decoded.items.map(({ type, id, content }) => `${type}${id}:${Buffer.from(content).toString()}`)).toEqual([
      'key0:K0',
      'key1:K1',
      'cert0:C0',
      'cert1:C1',
      'ca0:A0',
    ]);
    expect(bin.readUInt16LE(2)).toBe(5);
  });

  it.each([
    [1, 3],
    [2, 2],
    [3, 1],
    [4, 0],
  ])('pads %i content bytes with %i bytes of 0xFF', (length, padding) => {
    const bin = encodePkiBin([{ type: 'cert', content: Buffer.alloc(length, 0x41) }]);
    expect(bin.length).toBe(8 + 4 + length + padding);
    expect(bin.readUInt32LE(4)).toBe(4 + length + padding);
    expect([...bin.subarray(12 + length)]).toEqual(Array(padding).fill(0xff));
  });

  it('takes content of exactly 65,535 bytes', () => {
    const content = Buffer.alloc(65_535, 0x30);
    const decoded = decodePkiBin(encodePkiBin([{ type: 'cert', content }]));
    expect(decoded.items[0]!.content.length).toBe(65_535);
  });

  it('takes 256 items of one type (IDs 0..255)', () => {
    const items = Array.from({ length: 256 }, () => item('ca', 'x'));
    const decoded = decodePkiBin(encodePkiBin(items));
    expect(decoded.items.at(-1)!.id).toBe(255);
  });

  it.each<[string, PkiItem[], RegExp]>([
    ['an empty item list', [], /no items/],
    ['empty content', [item('cert', 'a'), { type: 'key', content: Buffer.alloc(0), source: 'empty.key' }], /key #0 \(empty\.key\) is empty/],
    ['content over 65,535 bytes', [{ type: 'cert', content: Buffer.alloc(65_536), source: 'big.crt' }], /cert #0 \(big\.crt\) is 65536 bytes; .* at most 65535/],
    ['more than 256 items of one type', Array.from({ length: 257 }, () => item('cert', 'x')), /more than 256 items of type cert/],
    ['an unknown type', [{ type: 'crl' as PkiItem['type'], content: Buffer.from('x') }], /unknown item type 'crl'/],
  ])('refuses %s', (_name, items, message) => {
    expect(() => encodePkiBin(items)).toThrow(InputError);
    expect(() => encodePkiBin(items)).toThrow(message);
  });
});

describe('decodePkiBin', () => {
  const good = encodePkiBin([item('cert', 'abcde'), item('cert', 'xy')]); // items at 8 (4+5+3) and 20 (4+2+2), length 20

  it('accepts a whole-partition read-back: the bin followed by 0xFF', () => {
    const readBack = Buffer.concat([good, Buffer.alloc(8192 - good.length, 0xff)]);
    const decoded = decodePkiBin(readBack);
    expect(decoded.warnings).toEqual([]);
    expect(decoded.length).toBe(good.length);
    expect(decoded.trailingBytes).toBe(8192 - good.length);
    expect(decoded.items.map((found) => Buffer.from(found.content).toString())).toEqual(['abcde', 'xy']);
  });

  it('warns about trailing bytes that are not 0xFF', () => {
    const decoded = decodePkiBin(Buffer.concat([good, Buffer.from([0xff, 0x00, 0xff])]));
    expect(decoded.warnings).toEqual([expect.stringMatching(/3 bytes after the bin \(from offset 28 .*\) are not all 0xFF/)]);
  });

  it('warns about padding that is not 0xFF', () => {
    const bytes = Buffer.from(good);
    bytes[8 + 4 + 5 + 1] = 0x00;
    const decoded = decodePkiBin(bytes);
    expect(decoded.items).toHaveLength(2);
    expect(decoded.warnings).toEqual([expect.stringMatching(/item #0 \(cert 0\): padding at offset 17 .* is not 0xFF/)]);
  });

  it('warns about a bin without items', () => {
    expect(decodePkiBin(rawBin(0, 0))).toEqual({ items: [], warnings: ['the bin holds no items'], length: 8, trailingBytes: 0 });
  });

  it('warns about IDs that do not count from 0 per type', () => {
    const bytes = Buffer.from(good);
    bytes[20 + 1] = 7;
    expect(decodePkiBin(bytes).warnings).toEqual([expect.stringMatching(/item #1 at offset 20 .*: cert id 7, expected 1/)]);
  });

  it.each<[string, () => Uint8Array, RegExp, number]>([
    ['a short header', () => good.subarray(0, 5), /truncated header: 5 bytes/, 0],
    ['a bad magic', () => Buffer.concat([Buffer.from([0xf1, 0xf2]), good.subarray(2)]), /bad magic F1 F2 \(expected F1 F1\)/, 0],
    ['erased flash', () => Buffer.alloc(64, 0xff), /bad magic FF FF .*erased flash/, 0],
    ['a length past the end of the data', () => good.subarray(0, 24), /header length 20 .* needs 28 bytes but the data is only 24 bytes/, 24],
    ['a count larger than the items', () => rawBin(3, 20, [2, 0, 5, 0, 97, 98, 99, 100, 101, 255, 255, 255], [2, 1, 2, 0, 120, 121, 255, 255]), /header says 3 items .* holds only 2/, 28],
    ['a count smaller than the items', () => rawBin(1, 20, [2, 0, 5, 0, 97, 98, 99, 100, 101, 255, 255, 255], [2, 1, 2, 0, 120, 121, 255, 255]), /header says 1 items .* leaves 8 bytes after them/, 20],
    ['an item running past the end', () => rawBin(1, 8, [2, 0, 9, 0, 1, 2, 3, 4]), /item #0 \(cert\): content length 9 \+ 3 padding runs to offset 24, past the end of the bin at 16/, 8],
    ['a truncated item header', () => rawBin(2, 14, [2, 0, 5, 0, 97, 98, 99, 100, 101, 255, 255, 255], [2, 1]), /item #1: truncated item header/, 20],
    ['an unknown type', () => rawBin(1, 8, [9, 0, 2, 0, 1, 2, 255, 255]), /item #0: unknown type 0x09/, 8],
  ])('rejects %s, naming the offset', (_name, bytes, message, offset) => {
    const error = decodeFailure(bytes());
    expect(error.message).toMatch(message);
    expect(error.message).toContain(`offset ${offset} (0x${offset.toString(16)})`);
    expect(error.details.offset).toBe(offset);
  });
});

describe('pkiBinLength', () => {
  it('tells how much of a read-back is the bin, from the 8 header bytes alone', () => {
    const bin = encodePkiBin([item('key', 'secret')]);
    expect(pkiBinLength(bin.subarray(0, 8))).toBe(bin.length);
    expect(pkiBinLength(Buffer.concat([bin, Buffer.alloc(100, 0xff)]))).toBe(bin.length);
  });

  it('needs a header with the magic', () => {
    expect(() => pkiBinLength(Buffer.from([0xf1, 0xf1, 1]))).toThrow(/truncated header/);
    expect(() => pkiBinLength(Buffer.alloc(8))).toThrow(/bad magic 00 00/);
  });
});
