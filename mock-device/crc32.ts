/**
 * CRC-32, reflected, polynomial 0xEDB88320. `register` is the starting register: 0xFFFFFFFF gives
 * the standard CRC-32 (zlib.crc32(data)); 0 gives what ESP-IDF's esp_rom_crc32_le(0xFFFFFFFF, …)
 * and NVS compute (zlib.crc32(data, 0xFFFFFFFF)).
 */
const TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32(data: Uint8Array, register = 0xffffffff): number {
  let crc = register >>> 0;
  for (let i = 0; i < data.length; i++) crc = TABLE[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
