/**
 * The CRC-32 of the esp_secure_cert formats (TLV entries and the legacy cust_flash metadata).
 *
 * It is the reflected CRC-32 (polynomial 0xEDB88320) as ESP-IDF's `esp_crc32_le(UINT32_MAX, buf, n)`
 * and Python's `zlib.crc32(buf, 0xFFFFFFFF)` compute it: both invert the seed on entry, so the
 * register starts at 0 (not at 0xFFFFFFFF as in the standard CRC-32), and the result is inverted.
 * Check value for ASCII "123456789": 0xD202D277 (the standard CRC-32 gives 0xCBF43926).
 */

const TABLE = ((): Uint32Array => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let bit = 0; bit < 8; bit++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/**
 * `esp_crc32_le(seed, bytes)` / `zlib.crc32(bytes, seed)`: the register starts at `~seed`, the
 * result is inverted. `crc32Le(0, bytes)` is the standard CRC-32.
 */
export function crc32Le(seed: number, bytes: Uint8Array): number {
  let crc = ~seed >>> 0;
  for (const byte of bytes) crc = TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return ~crc >>> 0;
}

/** The CRC the esp_secure_cert formats store: `crc32Le(0xFFFFFFFF, bytes)`. Empty input gives 0xFFFFFFFF. */
export function secureCertCrc(bytes: Uint8Array): number {
  return crc32Le(0xffffffff, bytes);
}
