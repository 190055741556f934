/**
 * The default user partition tables (at_customize.csv), protocol doc §6: the legacy tables
 * (separate 0x40 PKI partitions, firmware ≤ v3.0 / v2.4) and the v3.1+ tables (one `mfg_nvs`
 * NVS partition + fatfs). Rows are in table order, which is the order `AT+SYSFLASH?` prints them in.
 */

/** One row of at_customize.bin. */
export interface PartitionInfo {
  readonly label: string;
  /** 0x40 (64) for the AT user partitions, 1 (data) for fatfs / mfg_nvs. */
  readonly type: number;
  readonly subtype: number;
  /** Absolute flash address. */
  readonly offset: number;
  readonly size: number;
}

const USER = 0x40;
const DATA = 1;
const FAT = 129;
/** ESP-IDF data subtype `nvs`. */
const NVS = 2;
const K = 1024;

function row(label: string, type: number, subtype: number, offset: number, size: number): PartitionInfo {
  return Object.freeze({ label, type, subtype, offset, size });
}

/** module_esp32_default @ v2.4.0.0 (identical @ v3.0.0.0). */
export const ESP32_LEGACY_TABLE: readonly PartitionInfo[] = Object.freeze([
  row('ble_data', USER, 1, 0x21000, 12 * K),
  row('server_cert', USER, 2, 0x24000, 8 * K),
  row('server_key', USER, 3, 0x26000, 8 * K),
  row('server_ca', USER, 4, 0x28000, 8 * K),
  row('client_cert', USER, 5, 0x2a000, 8 * K),
  row('client_key', USER, 6, 0x2c000, 8 * K),
  row('client_ca', USER, 7, 0x2e000, 8 * K),
  row('factory_param', USER, 8, 0x30000, 4 * K),
  row('wpa2_cert', USER, 9, 0x31000, 8 * K),
  row('wpa2_key', USER, 10, 0x33000, 8 * K),
  row('wpa2_ca', USER, 11, 0x35000, 8 * K),
  row('mqtt_cert', USER, 12, 0x37000, 8 * K),
  row('mqtt_key', USER, 13, 0x39000, 8 * K),
  row('mqtt_ca', USER, 14, 0x3b000, 8 * K),
  row('fatfs', DATA, FAT, 0x70000, 576 * K),
]);

/** module_esp32c3_default @ v2.4.0.0 (identical @ v3.0.0.0). */
export const ESP32C3_LEGACY_TABLE: readonly PartitionInfo[] = Object.freeze([
  row('ble_data', USER, 1, 0x1f000, 24 * K),
  row('server_cert', USER, 2, 0x25000, 8 * K),
  row('server_key', USER, 3, 0x27000, 8 * K),
  row('server_ca', USER, 4, 0x29000, 8 * K),
  row('client_cert', USER, 5, 0x2b000, 8 * K),
  row('client_key', USER, 6, 0x2d000, 8 * K),
  row('client_ca', USER, 7, 0x2f000, 8 * K),
  row('factory_param', USER, 8, 0x31000, 4 * K),
  row('wpa2_cert', USER, 9, 0x32000, 8 * K),
  row('wpa2_key', USER, 10, 0x34000, 8 * K),
  row('wpa2_ca', USER, 11, 0x36000, 8 * K),
  row('mqtt_cert', USER, 12, 0x38000, 8 * K),
  row('mqtt_key', USER, 13, 0x3a000, 8 * K),
  row('mqtt_ca', USER, 14, 0x3c000, 8 * K),
  row('fatfs', DATA, FAT, 0x47000, 100 * K),
]);

/** module_esp32c2_default @ v3.0.0.0 (4 MB). Note the C2 subtypes differ from ESP32/C3. */
export const ESP32C2_LEGACY_TABLE: readonly PartitionInfo[] = Object.freeze([
  row('server_cert', USER, 1, 0x1f000, 8 * K),
  row('server_key', USER, 2, 0x21000, 8 * K),
  row('server_ca', USER, 3, 0x23000, 8 * K),
  row('client_cert', USER, 4, 0x25000, 8 * K),
  row('client_key', USER, 5, 0x27000, 8 * K),
  row('client_ca', USER, 6, 0x29000, 8 * K),
  row('factory_param', USER, 7, 0x2b000, 4 * K),
  row('wpa2_cert', USER, 8, 0x2c000, 8 * K),
  row('wpa2_key', USER, 9, 0x2e000, 8 * K),
  row('wpa2_ca', USER, 10, 0x30000, 8 * K),
  row('mqtt_cert', USER, 11, 0x32000, 8 * K),
  row('mqtt_key', USER, 12, 0x34000, 8 * K),
  row('mqtt_ca', USER, 13, 0x36000, 8 * K),
  row('ble_data', USER, 14, 0x38000, 24 * K),
  row('fatfs', DATA, FAT, 0x47000, 100 * K),
]);

/**
 * module_esp32c2-2mb @ v3.0.0.0. The doc gives "factory_param 1 @0x1b000, then server_cert 2 …
 * mqtt_ca 13 at 0x1c000…0x27000, 4K each, ble_data 14 @0x28000 8K"; the label order in between is
 * taken from the 4 MB table (inferred).
 */
export const ESP32C2_2MB_LEGACY_TABLE: readonly PartitionInfo[] = Object.freeze([
  row('factory_param', USER, 1, 0x1b000, 4 * K),
  ...['server_cert', 'server_key', 'server_ca', 'client_cert', 'client_key', 'client_ca',
    'wpa2_cert', 'wpa2_key', 'wpa2_ca', 'mqtt_cert', 'mqtt_key', 'mqtt_ca']
    .map((label, i) => row(label, USER, i + 2, 0x1c000 + i * 0x1000, 4 * K)),
  row('ble_data', USER, 14, 0x28000, 8 * K),
]);

/** module_esp8266_default @ v2.2.2.0_esp8266 = v2.3.0.0_esp8266. wpa2_cert really repeats subtype 8. */
export const ESP8266_LEGACY_TABLE: readonly PartitionInfo[] = Object.freeze([
  row('factory_param', USER, 8, 0xf1000, 4 * K),
  row('server_cert', USER, 2, 0xf2000, 8 * K),
  row('server_key', USER, 3, 0xf4000, 8 * K),
  row('server_ca', USER, 4, 0xf6000, 8 * K),
  row('client_cert', USER, 5, 0xf8000, 8 * K),
  row('client_key', USER, 6, 0xfa000, 8 * K),
  row('client_ca', USER, 7, 0xfc000, 8 * K),
  row('wpa2_cert', USER, 8, 0xfe000, 8 * K),
  row('wpa2_key', USER, 9, 0x100000, 8 * K),
  row('wpa2_ca', USER, 10, 0x102000, 8 * K),
  row('mqtt_cert', USER, 11, 0x104000, 8 * K),
  row('mqtt_key', USER, 12, 0x106000, 8 * K),
  row('mqtt_ca', USER, 13, 0x108000, 8 * K),
]);

/** module_esp8266_1mb. */
export const ESP8266_1MB_LEGACY_TABLE: readonly PartitionInfo[] = Object.freeze([
  row('factory_param', USER, 8, 0x19000, 4 * K),
  row('client_cert', USER, 5, 0x1a000, 4 * K),
  row('client_key', USER, 6, 0x1b000, 4 * K),
  row('client_ca', USER, 7, 0x1c000, 4 * K),
  row('mqtt_cert', USER, 11, 0x1d000, 4 * K),
  row('mqtt_key', USER, 12, 0x1e000, 4 * K),
  row('mqtt_ca', USER, 13, 0x1f000, 4 * K),
]);

/** Label of the manufacturing NVS partition of v3.1+ firmware (AT+SYSMFG works on it). */
export const MFG_NVS_LABEL = 'mfg_nvs';

/** module_esp32_default @ v3.1.0.0 … v5.0.1.0 (first ESP32 release with it: v3.2.0.0). */
export const ESP32_MFG_TABLE: readonly PartitionInfo[] = Object.freeze([
  row(MFG_NVS_LABEL, DATA, NVS, 0x21000, 112 * K),
  row('fatfs', DATA, FAT, 0x70000, 576 * K),
]);

/** module_esp32c3_default @ v3.1.0.0 … v5.0.1.0 (first ESP32-C3 release with it: v3.2.0.0). */
export const ESP32C3_MFG_TABLE: readonly PartitionInfo[] = Object.freeze([
  row(MFG_NVS_LABEL, DATA, NVS, 0x1f000, 124 * K),
  row('fatfs', DATA, FAT, 0x47000, 100 * K),
]);

/** module_esp32c2_default (4 MB) @ v3.1.0.0+: same rows as the C3 table. */
export const ESP32C2_MFG_TABLE: readonly PartitionInfo[] = ESP32C3_MFG_TABLE;

/** module_esp32c2-2mb @ v3.1.0.0+: mfg_nvs is the only row. */
export const ESP32C2_2MB_MFG_TABLE: readonly PartitionInfo[] = Object.freeze([
  row(MFG_NVS_LABEL, DATA, NVS, 0x1b000, 60 * K),
]);

/**
 * module_esp32c6 (4 MB) @ v4.x: not listed in the protocol doc; assumed to be the C3/C2 4 MB
 * layout (mfg_nvs 0x1f000 124K + fatfs 0x47000 100K). INFERRED.
 */
export const ESP32C6_MFG_TABLE: readonly PartitionInfo[] = ESP32C3_MFG_TABLE;

/** The flash image size needed to hold every partition of a table (end of the highest one). */
export function tableExtent(table: readonly PartitionInfo[]): number {
  return table.reduce((end, p) => Math.max(end, p.offset + p.size), 0);
}
