/**
 * The CRC-32 NVS stores (page header, entry header, string/blob data): ESP-IDF's
 * `esp_rom_crc32_le(0xFFFFFFFF, …)`, which nvs_partition_gen.py computes as `zlib.crc32(bytes, 0xFFFFFFFF)`.
 * The same variant as esp_secure_cert's CRC (see ../secure-cert/crc.ts).
 */
import { crc32Le } from '../secure-cert/crc.js';

export function nvsCrc32(bytes: Uint8Array): number {
  return crc32Le(0xffffffff, bytes);
}
