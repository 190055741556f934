/**
 * Layout cases reasoned from ESP-IDF's "NVS internals" and the generator's page-filling rules (not
 * covered by the vectors): where strings and blob chunks go at page ends, the read-only size, limits.
 */
import { describe, expect, it } from 'vitest';
import { InputError } from '../../../src/errors.js';
import { decodeNvs } from '../../../src/pki/nvs/decoder.js';
import { NvsImageBuilder, integerData } from '../../../src/pki/nvs/encoder.js';
import { decodeEntry, ItemType } from '../../../src/pki/nvs/entry.js';
import { decodePageHeader, NVS_PAGE_SIZE } from '../../../src/pki/nvs/page-header.js';

function entryAt(image: Buffer, page: number, entry: number) {
  return decodeEntry(image.subarray(page * NVS_PAGE_SIZE + 64 + entry * 32));
}

/** A builder whose first page has `used` entries taken (namespace + u8 keys). */
function filled(used: number, size = 0x6000, version: 1 | 2 = 2): NvsImageBuilder {
  const builder = new NvsImageBuilder(size, version);
  builder.namespace('ns');
  for (let i = 1; i < used; i++) builder.set(`k${i}`, { kind: 'integer', type: 'u8', value: BigInt(i & 0xff) });
  return builder;
}

describe('NvsImageBuilder', () => {
  it('integers: little-endian in the data field, 0xFF-padded, all eight types', () => {
    expect(integerData('u8', 255n).toString('hex')).toBe('ffffffffffffffff');
    expect(integerData('i8', -1n).toString('hex')).toBe('ffffffffffffffff');
    expect(integerData('i16', -2n).toString('hex')).toBe('feffffffffffffff');
    expect(integerData('u32', 0x12345678n).toString('hex')).toBe('78563412ffffffff');
    expect(integerData('u64', 0x0102030405060708n).toString('hex')).toBe('0807060504030201');
    expect(integerData('i64', -9223372036854775808n).toString('hex')).toBe('0000000000000080');
    expect(() => integerData('u8', 256n)).toThrow(InputError);
    expect(() => integerData('i32', 2147483648n)).toThrow(/does not fit in i32/);
    expect(() => integerData('u64', -1n)).toThrow(InputError);
  });

  it('a string that would leave no entry free on its page starts a new page (the generator tests >=)', () => {
    // 10 entries used; 115 data entries + header = 116 → 126 = full → new page.
    const builder = filled(10);
    builder.set('s', { kind: 'string', value: Buffer.alloc(115 * 32 - 1, 0x41) });
    const image = builder.finish();
    expect(entryAt(image, 1, 0)).toMatchObject({ key: 's', type: ItemType.SZ, span: 116 });
    expect(decodePageHeader(image).stateName).toBe('full');
    // One byte less fits: 114 data entries + header end at entry 124, one entry left.
    const fits = filled(10);
    fits.set('s', { kind: 'string', value: Buffer.alloc(114 * 32 - 1, 0x41) });
    expect(entryAt(fits.finish(), 0, 10)).toMatchObject({ key: 's', span: 115 });
  });

  it('a version-2 blob fills the rest of the page, its index goes where the writing stands', () => {
    // 100 entries used: chunk 0 takes the header at 100 and (126-100-1)*32 = 800 bytes.
    const builder = filled(100);
    builder.set('b', { kind: 'blob', bytes: Buffer.alloc(1000, 7) });
    const image = builder.finish();
    expect(entryAt(image, 0, 100)).toMatchObject({ type: ItemType.BLOB_DATA, chunkIndex: 0, span: 26 });
    expect(Buffer.from(entryAt(image, 0, 100).data).readUInt16LE(0)).toBe(800);
    expect(entryAt(image, 1, 0)).toMatchObject({ type: ItemType.BLOB_DATA, chunkIndex: 1, span: 8 });
    const index = entryAt(image, 1, 8);
    expect(index).toMatchObject({ type: ItemType.BLOB_IDX, chunkIndex: 0xff, span: 1 });
    expect(Buffer.from(index.data).toString('hex')).toBe('e80300000200ffff');
    expect(decodeNvs(image).items.find((item) => item.key === 'b')!.bytes!.equals(Buffer.alloc(1000, 7))).toBe(true);
  });

  it('a chunk that ends exactly at the page end puts the index on the next page', () => {
    const builder = filled(100);
    builder.set('b', { kind: 'blob', bytes: Buffer.alloc(800, 1) });
    const image = builder.finish();
    expect(entryAt(image, 0, 100)).toMatchObject({ type: ItemType.BLOB_DATA, span: 26 });
    expect(entryAt(image, 1, 0)).toMatchObject({ type: ItemType.BLOB_IDX, key: 'b' });
    expect(Buffer.from(entryAt(image, 1, 0).data).toString('hex')).toBe('200300000100ffff');
  });

  it('a blob started on the last entry of a page gets an empty chunk 0 there', () => {
    const builder = filled(125);
    builder.set('b', { kind: 'blob', bytes: Buffer.from('hello') });
    const image = builder.finish();
    const empty = entryAt(image, 0, 125);
    expect(empty).toMatchObject({ type: ItemType.BLOB_DATA, chunkIndex: 0, span: 1 });
    expect(Buffer.from(empty.data).readUInt16LE(0)).toBe(0);
    expect(entryAt(image, 1, 0)).toMatchObject({ type: ItemType.BLOB_DATA, chunkIndex: 1, span: 2 });
    expect(decodeNvs(image).items.find((item) => item.key === 'b')).toMatchObject({ chunks: 2, readable: true, size: 5 });
  });

  it('version 1: one BLOB entry on one page, at most 1984 bytes', () => {
    const builder = filled(100, 0x6000, 1);
    builder.set('b', { kind: 'blob', bytes: Buffer.alloc(1984, 3) });
    const image = builder.finish();
    expect(decodePageHeader(image.subarray(NVS_PAGE_SIZE)).versionByte).toBe(0xff);
    expect(entryAt(image, 1, 0)).toMatchObject({ type: ItemType.BLOB, span: 63 });
    expect(() => filled(1, 0x6000, 1).set('b', { kind: 'blob', bytes: Buffer.alloc(1985) })).toThrow(/1984/);
  });

  it('string limits: 4000 bytes refused by the generator, over 3968 (with NUL) never fits a page', () => {
    expect(() => filled(1).set('s', { kind: 'string', value: Buffer.alloc(4000, 0x41) })).toThrow(/4000/);
    expect(() => filled(1).set('s', { kind: 'string', value: Buffer.alloc(3968, 0x41) })).toThrow(/3968 fit in one NVS page/);
    const builder = filled(1);
    builder.set('s', { kind: 'string', value: Buffer.alloc(3967, 0x41) });
    expect(decodeNvs(builder.finish()).items.at(-1)).toMatchObject({ key: 's', size: 3968 });
  });

  it('sizes: whole pages; under 0x3000 read-only (no reserved page, the image ends after the pages used)', () => {
    expect(() => new NvsImageBuilder(0x3001)).toThrow(/multiple of 4096/);
    expect(() => new NvsImageBuilder(0)).toThrow(InputError);
    const small = new NvsImageBuilder(0x2000);
    small.namespace('a');
    expect(small.readOnly).toBe(true);
    expect(small.finish().length).toBe(4096);
    const full = new NvsImageBuilder(0x3000);
    full.namespace('a');
    expect(() => full.set('b', { kind: 'blob', bytes: Buffer.alloc(8000) })).toThrow(/does not fit in 12288 bytes/);
  });

  it('names: 1-15 printable ASCII characters; keys need a namespace first', () => {
    const builder = new NvsImageBuilder(0x3000);
    expect(() => builder.set('k', { kind: 'integer', type: 'u8', value: 1n })).toThrow(/before any namespace/);
    expect(() => builder.namespace('a_name_of_16_chr')).toThrow(/longer than 15/);
    expect(() => builder.namespace('')).toThrow(/empty/);
    builder.namespace('ok');
    expect(() => builder.set('ké', { kind: 'integer', type: 'u8', value: 1n })).toThrow(/printable ASCII/);
  });

  it('namespaces are numbered from 1 in order of appearance; a known one is selected again without a new entry', () => {
    const builder = new NvsImageBuilder(0x3000);
    expect(builder.namespace('a')).toBe(1);
    expect(builder.namespace('b')).toBe(2);
    expect(builder.namespace('a')).toBe(1);
    builder.set('x', { kind: 'integer', type: 'u8', value: 5n });
    const decoded = decodeNvs(builder.finish());
    expect(decoded.namespaces.map((ns) => [ns.name, ns.index])).toEqual([['a', 1], ['b', 2]]);
    expect(decoded.items).toMatchObject([{ namespace: 'a', key: 'x', value: 5n }]);
  });
});
