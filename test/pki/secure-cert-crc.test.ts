import { describe, expect, it } from 'vitest';
import { crc32Le, secureCertCrc } from '../../src/pki/secure-cert/crc.js';
import { encodeTlvEntry } from '../../src/pki/secure-cert/tlv-entry.js';
import { walkTlvImage } from '../../src/pki/secure-cert/tlv-image.js';
import { secureCertVectors, upstreamImages } from './secure-cert-vectors.js';

const ascii = (text: string): Buffer => Buffer.from(text, 'latin1');

describe('the esp_secure_cert CRC (esp_crc32_le(UINT32_MAX, ...), zlib.crc32(buf, 0xFFFFFFFF))', () => {
  it('has the check value 0xD202D277, not the standard CRC-32', () => {
    expect(secureCertCrc(ascii('123456789'))).toBe(0xd202d277);
    expect(crc32Le(0, ascii('123456789'))).toBe(0xcbf43926);
  });

  it('is 0xFFFFFFFF for no bytes (the register starts at 0)', () => {
    expect(secureCertCrc(new Uint8Array(0))).toBe(0xffffffff);
    expect(crc32Le(0, new Uint8Array(0))).toBe(0);
  });

  it('chains like zlib.crc32: crc(a + b) = crc32Le(crc(a), b)', () => {
    const all = ascii('the quick brown fox jumps over the lazy dog');
    expect(crc32Le(secureCertCrc(all.subarray(0, 10)), all.subarray(10))).toBe(secureCertCrc(all));
  });

  it('gives the worked example of the format doc (USER_DATA_2 subtype 3, value 01 02)', () => {
    const entry = encodeTlvEntry({ type: 52, subtype: 3, value: Buffer.of(1, 2) });
    expect(entry.toString('hex')).toBe(`11ba5eba00000000340302000102${'00'.repeat(14)}4e629e6f`);
    expect(secureCertCrc(entry.subarray(0, 28))).toBe(0x6f9e624e);
  });

  it('gives the DS_CONTEXT example of the format doc (eFuse key 1, RSA 2048)', () => {
    const entry = encodeTlvEntry({ type: 4, value: Buffer.from('0000000001000008', 'hex') });
    expect(entry.toString('hex')).toBe(`11ba5eba000000000400080000000000010000080000000000000000${'3114e402'}`);
  });

  it('matches every entry CRC of the reference outputs and the intact upstream images', () => {
    const images = [...secureCertVectors().map((vector) => vector.output), ...upstreamImages().filter((image) => !image.corrupt).map((image) => image.bytes)];
    let checked = 0;
    for (const image of images) {
      for (const entry of walkTlvImage(image).entries) {
        expect(entry.computedCrc).toBe(entry.crc);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(20);
  });
});
