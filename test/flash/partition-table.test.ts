/**
 * Which partitions hold credentials (where `update` may write): decided from the partition table as
 * `AT+SYSFLASH?` prints it — type 0x40 (64) with a PKI label, or esp_secure_cert (type 0x3F) — and
 * never from the subtype alone, whose numbers differ between chips (protocol doc §6).
 */
import { describe, expect, it } from 'vitest';
import { isCredentialPartition, parsePartitionTable, type Partition } from '../../src/flash/partition-table.js';

const credentialLabels = (lines: string[]): string[] => parsePartitionTable(lines).filter(isCredentialPartition).map((p) => p.label);

describe('isCredentialPartition', () => {
  it('ESP32 (ESP-AT 2.4): the twelve PKI partitions, not ble_data, factory_param or fatfs', () => {
    const table = [
      '+SYSFLASH:"ble_data",64,1,0x21000,0x3000',
      '+SYSFLASH:"server_cert",64,2,0x24000,0x2000',
      '+SYSFLASH:"server_key",64,3,0x26000,0x2000',
      '+SYSFLASH:"server_ca",64,4,0x28000,0x2000',
      '+SYSFLASH:"client_cert",64,5,0x2a000,0x2000',
      '+SYSFLASH:"client_key",64,6,0x2c000,0x2000',
      '+SYSFLASH:"client_ca",64,7,0x2e000,0x2000',
      '+SYSFLASH:"factory_param",64,8,0x30000,0x1000',
      '+SYSFLASH:"wpa2_cert",64,9,0x31000,0x2000',
      '+SYSFLASH:"wpa2_key",64,10,0x33000,0x2000',
      '+SYSFLASH:"wpa2_ca",64,11,0x35000,0x2000',
      '+SYSFLASH:"mqtt_cert",64,12,0x37000,0x2000',
      '+SYSFLASH:"mqtt_key",64,13,0x39000,0x2000',
      '+SYSFLASH:"mqtt_ca",64,14,0x3b000,0x2000',
      '+SYSFLASH:"fatfs",1,129,0x70000,0x90000',
    ];
    expect(credentialLabels(table)).toEqual([
      'server_cert', 'server_key', 'server_ca', 'client_cert', 'client_key', 'client_ca',
      'wpa2_cert', 'wpa2_key', 'wpa2_ca', 'mqtt_cert', 'mqtt_key', 'mqtt_ca',
    ]);
  });

  it('by label, not subtype: ESP32-C2 numbers them differently, ESP8266 gives wpa2_cert factory_param’s subtype', () => {
    const c2 = ['+SYSFLASH:"server_cert",64,1,0x1f000,0x2000', '+SYSFLASH:"client_cert",64,4,0x25000,0x2000', '+SYSFLASH:"factory_param",64,7,0x2b000,0x1000', '+SYSFLASH:"ble_data",64,14,0x38000,0x6000'];
    expect(credentialLabels(c2)).toEqual(['server_cert', 'client_cert']);
    const esp8266 = ['+SYSFLASH:"factory_param",64,8,0xf1000,0x1000', '+SYSFLASH:"wpa2_cert",64,8,0xfe000,0x2000'];
    expect(credentialLabels(esp8266)).toEqual(['wpa2_cert']);
  });

  it('ESP-AT 3.x: neither mfg_nvs (whose keys are written one by one) nor fatfs', () => {
    expect(credentialLabels(['+SYSFLASH:"mfg_nvs",1,2,0x21000,0x1c000', '+SYSFLASH:"fatfs",1,129,0x70000,0x90000'])).toEqual([]);
  });

  it('esp_secure_cert only with its type 0x3F; a PKI label only with type 0x40', () => {
    const row = (label: string, type: number): Partition => ({ label, type, subtype: 0, address: 0xd000, size: 0x2000 });
    expect(isCredentialPartition(row('esp_secure_cert', 0x3f))).toBe(true);
    expect(isCredentialPartition(row('esp_secure_cert', 0x01))).toBe(false);
    expect(isCredentialPartition(row('client_cert', 0x01))).toBe(false);
    expect(isCredentialPartition(row('https_ca', 0x40))).toBe(true);
    expect(isCredentialPartition(row('my_certs', 0x40))).toBe(false);
  });
});
