/** The decoder on damaged and hostile input: every problem named, never an exception but InputError for a length that is not whole pages. */
import { describe, expect, it } from 'vitest';
import { InputError } from '../../../src/errors.js';
import { decodeNvs } from '../../../src/pki/nvs/decoder.js';
import { NvsImageBuilder } from '../../../src/pki/nvs/encoder.js';
import { setEntryState } from '../../../src/pki/nvs/entry-states.js';
import { NVS_PAGE_SIZE } from '../../../src/pki/nvs/page-header.js';
import { nvsVectors } from './support.js';

const client = nvsVectors().find((v) => v.name === 'mfg_nvs_client')!.expected;

function sample(): Buffer {
  const builder = new NvsImageBuilder(0x4000);
  builder.namespace('factory_param');
  builder.set('uart_baudrate', { kind: 'integer', type: 'i32', value: 115200n });
  builder.set('module_name', { kind: 'string', value: Buffer.from('MINI-1') });
  builder.set('blob', { kind: 'blob', bytes: Buffer.alloc(5000, 9) });
  return builder.finish();
}

/** xorshift32, for repeatable "random" damage. */
function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

describe('decodeNvs', () => {
  it('refuses a length that is not whole pages, with an InputError', () => {
    expect(() => decodeNvs(Buffer.alloc(100))).toThrow(InputError);
    expect(() => decodeNvs(Buffer.alloc(0))).toThrow(InputError);
  });

  it('an erased partition is valid and empty', () => {
    const decoded = decodeNvs(Buffer.alloc(0x3000, 0xff));
    expect(decoded).toMatchObject({ valid: true, items: [], namespaces: [], problems: [] });
    expect(decoded.pages.map((p) => p.state)).toEqual(['blank', 'blank', 'blank']);
  });

  it('a flipped data byte: data CRC mismatch, the value unreadable', () => {
    const image = sample();
    image[64 + 3 * 32 + 1] ^= 0x01; // module_name's text (namespace, uart_baudrate, header at 2)
    const decoded = decodeNvs(image);
    expect(decoded.valid).toBe(false);
    expect(decoded.problems.map((p) => p.message)).toContain('page 0 entry 2: data CRC mismatch for "module_name"');
    expect(decoded.items.find((item) => item.key === 'module_name')).toMatchObject({ readable: false });
    expect(decoded.items.find((item) => item.key === 'module_name')!.bytes).toBeUndefined();
  });

  it('a flipped header byte: entry CRC mismatch; a damaged page header: the page is not used', () => {
    const image = sample();
    image[64 + 32 + 24] ^= 0x80; // uart_baudrate's value
    expect(decodeNvs(image).problems[0]!.message).toMatch(/page 0 entry 1: entry CRC mismatch \(key "uart_baudrate"\)/);
    const header = sample();
    header[4] = 9; // sequence number, under the header CRC
    const decoded = decodeNvs(header);
    expect(decoded.problems[0]).toMatchObject({ severity: 'error', page: 0, message: 'page 0: header CRC mismatch; the NVS library would not use this page' });
    expect(decoded.pages[0]).toMatchObject({ headerCrcOk: false });
  });

  it('erased entries are listed with their key, and are not values', () => {
    const image = sample();
    const bitmap = image.subarray(32, 64);
    setEntryState(bitmap, 1, 'erased');
    const decoded = decodeNvs(image);
    expect(decoded.valid).toBe(true);
    expect(decoded.erased).toEqual([{ page: 0, entry: 1, key: 'uart_baudrate', namespaceIndex: 1, type: 'i32', span: 1 }]);
    expect(decoded.items.map((item) => item.key)).toEqual(['module_name', 'blob']);
    expect(decoded.pages[0]!.entries).toMatchObject({ erased: 1 });
  });

  it('a missing blob chunk and a left-over chunk are reported', () => {
    const image = Buffer.from(client);
    // client_cert.1 is split over pages 0 (chunk 0 at entry 119) and 1: erase page 1's chunk.
    const page1 = image.subarray(NVS_PAGE_SIZE);
    for (let i = 0; i < 32; i++) setEntryState(page1.subarray(32, 64), i, 'erased');
    const decoded = decodeNvs(image);
    expect(decoded.valid).toBe(false);
    expect(decoded.problems.map((p) => p.message)).toContain('page 1 entry 32: blob "client_cert.1" lacks chunk 1 of 2');
    const orphan = Buffer.from(client);
    const page0 = orphan.subarray(0, NVS_PAGE_SIZE);
    setEntryState(page0.subarray(32, 64), 39, 'erased'); // client_ca.0's index
    expect(decodeNvs(orphan).problems).toEqual([expect.objectContaining({ severity: 'warning', message: expect.stringMatching(/chunk 0 of "client_ca.0" belongs to no blob index/) })]);
  });

  it('keys of an undefined namespace, a bad page state', () => {
    const image = sample();
    setEntryState(image.subarray(32, 64), 0, 'erased'); // the namespace entry
    expect(decodeNvs(image).problems.map((p) => p.message)).toContain('page 0 entry 1: key "uart_baudrate" belongs to namespace index 1, which no entry defines');
    const state = sample();
    state.writeUInt32LE(0x12345678, 0);
    expect(decodeNvs(state).problems[0]!.message).toBe('page 0: state 0x12345678 is not an NVS page state');
  });

  it('fuzz: random bytes and random damage to real images decode without throwing', () => {
    const next = prng(17);
    const bases = [client, sample(), ...nvsVectors().map((v) => v.expected)];
    for (let round = 0; round < 150; round++) {
      let image: Buffer;
      if (round % 3 === 0) {
        image = Buffer.alloc(NVS_PAGE_SIZE * (1 + (next() % 3)));
        for (let i = 0; i < image.length; i++) image[i] = next() & 0xff;
        if (round % 2 === 0) image.writeUInt32LE(0xfffffffe, 0);
      } else {
        image = Buffer.from(bases[next() % bases.length]!);
        const flips = 1 + (next() % 40);
        for (let i = 0; i < flips; i++) image[next() % Math.min(image.length, 4 * NVS_PAGE_SIZE)] = next() & 0xff;
      }
      const decoded = decodeNvs(image);
      expect(typeof decoded.valid).toBe('boolean');
      for (const item of decoded.items) if (item.bytes) expect(item.bytes.length).toBeLessThanOrEqual(image.length);
    }
  });
});
