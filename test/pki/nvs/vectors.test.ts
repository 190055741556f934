/**
 * Every NVS vector (nvs_partition_gen.py 0.2.0 output) is reproduced byte for byte from its CSV, and
 * decodes back to exactly the CSV's namespaces, keys, types and values.
 */
import { describe, expect, it } from 'vitest';
import { buildNvsFromCsv } from '../../../src/pki/nvs/csv-image.js';
import { decodeNvs } from '../../../src/pki/nvs/decoder.js';
import { nvsVectors } from './support.js';

const vectors = nvsVectors();

describe('NVS vectors', () => {
  it('there are vectors', () => {
    expect(vectors.map((v) => v.name).sort()).toEqual(['big_blob_v2', 'blob_v1', 'factory_param_types', 'mfg_nvs_client']);
  });

  for (const vector of vectors) {
    it(`${vector.name}: encodes byte for byte`, () => {
      const { image } = buildNvsFromCsv(vector.rows, { size: vector.size, version: vector.version, files: vector.files });
      expect(image.length).toBe(vector.expected.length);
      expect(image.equals(vector.expected)).toBe(true);
    });

    it(`${vector.name}: decodes to the CSV's content`, () => {
      const decoded = decodeNvs(vector.expected);
      expect(decoded.problems).toEqual([]);
      expect(decoded.valid).toBe(true);
      expect(decoded.version).toBe(vector.version);
      expect(decoded.erased).toEqual([]);
      let namespace = '';
      const expected: { namespace: string; key: string; encoding: string; value: string }[] = [];
      for (const row of vector.rows) {
        if (row.type === 'namespace') namespace = row.key;
        else expected.push({ namespace, key: row.key, encoding: row.encoding, value: row.type === 'file' ? vector.files.get(row.value)!.toString('hex') : row.value });
      }
      expect(decoded.namespaces.map((ns) => ns.name)).toEqual([...new Set(expected.map((e) => e.namespace))]);
      expect(decoded.items.map((item) => `${item.namespace}/${item.key}`)).toEqual(expected.map((e) => `${e.namespace}/${e.key}`));
      for (const [i, item] of decoded.items.entries()) {
        const want = expected[i]!;
        expect(item.readable).toBe(true);
        switch (want.encoding) {
          case 'string':
            expect(item.type).toBe('string');
            expect(item.bytes!.toString('utf8')).toBe(want.value);
            break;
          case 'hex2bin':
            expect(item.bytes!.toString('hex')).toBe(want.value);
            break;
          case 'base64':
            expect(item.bytes!.toString('base64')).toBe(want.value);
            break;
          case 'binary':
            expect(item.type).toBe('blob');
            expect(item.blobLayout).toBe(vector.version === 1 ? 'single' : 'chunked');
            expect(item.bytes!.toString('hex')).toBe(want.value);
            break;
          default:
            expect(item.type).toBe(want.encoding);
            expect(item.value).toBe(BigInt(want.value));
        }
      }
    });
  }

  it('page states: pages before the last used one FULL, the last ACTIVE, then blank pages (the last one reserved)', () => {
    const big = vectors.find((v) => v.name === 'big_blob_v2')!;
    const decoded = decodeNvs(big.expected);
    expect(decoded.pages.map((p) => p.state)).toEqual(['full', 'full', 'active', 'blank', 'blank', 'blank']);
    expect(decoded.pages.slice(0, 3).map((p) => p.sequence)).toEqual([0, 1, 2]);
    // 9000 bytes: 3968 (entry 1 on, after the namespace) + 4000 (a whole page) + 1032.
    const blob = decoded.items.find((item) => item.key === 'big')!;
    expect(blob).toMatchObject({ type: 'blob', blobLayout: 'chunked', chunks: 3, size: 9000, page: 2, entry: 34 });
  });
});
