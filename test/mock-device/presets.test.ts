import { describe, expect, it } from 'vitest';
import { EspAtEmulator } from '../../mock-device/emulator.js';
import { CHIP_NAMES, FIRMWARE_PRESETS, findPreset } from '../../mock-device/firmware-presets.js';
import { quietEmulator } from './wire.js';

// Expected AT+SYSFLASH? output, written out by hand from the §6 tables (not generated from the
// emulator's own tables, so a typo in either shows up).
const EXPECTED: Record<string, string[]> = {
  esp32: [
    '"ble_data",64,1,0x21000,0x3000',
    '"server_cert",64,2,0x24000,0x2000',
    '"server_key",64,3,0x26000,0x2000',
    '"server_ca",64,4,0x28000,0x2000',
    '"client_cert",64,5,0x2a000,0x2000',
    '"client_key",64,6,0x2c000,0x2000',
    '"client_ca",64,7,0x2e000,0x2000',
    '"factory_param",64,8,0x30000,0x1000',
    '"wpa2_cert",64,9,0x31000,0x2000',
    '"wpa2_key",64,10,0x33000,0x2000',
    '"wpa2_ca",64,11,0x35000,0x2000',
    '"mqtt_cert",64,12,0x37000,0x2000',
    '"mqtt_key",64,13,0x39000,0x2000',
    '"mqtt_ca",64,14,0x3b000,0x2000',
    '"fatfs",1,129,0x70000,0x90000',
  ],
  esp32c3: [
    '"ble_data",64,1,0x1f000,0x6000',
    '"server_cert",64,2,0x25000,0x2000',
    '"server_key",64,3,0x27000,0x2000',
    '"server_ca",64,4,0x29000,0x2000',
    '"client_cert",64,5,0x2b000,0x2000',
    '"client_key",64,6,0x2d000,0x2000',
    '"client_ca",64,7,0x2f000,0x2000',
    '"factory_param",64,8,0x31000,0x1000',
    '"wpa2_cert",64,9,0x32000,0x2000',
    '"wpa2_key",64,10,0x34000,0x2000',
    '"wpa2_ca",64,11,0x36000,0x2000',
    '"mqtt_cert",64,12,0x38000,0x2000',
    '"mqtt_key",64,13,0x3a000,0x2000',
    '"mqtt_ca",64,14,0x3c000,0x2000',
    '"fatfs",1,129,0x47000,0x19000',
  ],
  esp32c2: [
    '"server_cert",64,1,0x1f000,0x2000',
    '"server_key",64,2,0x21000,0x2000',
    '"server_ca",64,3,0x23000,0x2000',
    '"client_cert",64,4,0x25000,0x2000',
    '"client_key",64,5,0x27000,0x2000',
    '"client_ca",64,6,0x29000,0x2000',
    '"factory_param",64,7,0x2b000,0x1000',
    '"wpa2_cert",64,8,0x2c000,0x2000',
    '"wpa2_key",64,9,0x2e000,0x2000',
    '"wpa2_ca",64,10,0x30000,0x2000',
    '"mqtt_cert",64,11,0x32000,0x2000',
    '"mqtt_key",64,12,0x34000,0x2000',
    '"mqtt_ca",64,13,0x36000,0x2000',
    '"ble_data",64,14,0x38000,0x6000',
    '"fatfs",1,129,0x47000,0x19000',
  ],
  'esp32c2-2mb': [
    '"factory_param",64,1,0x1b000,0x1000',
    '"server_cert",64,2,0x1c000,0x1000',
    '"server_key",64,3,0x1d000,0x1000',
    '"server_ca",64,4,0x1e000,0x1000',
    '"client_cert",64,5,0x1f000,0x1000',
    '"client_key",64,6,0x20000,0x1000',
    '"client_ca",64,7,0x21000,0x1000',
    '"wpa2_cert",64,8,0x22000,0x1000',
    '"wpa2_key",64,9,0x23000,0x1000',
    '"wpa2_ca",64,10,0x24000,0x1000',
    '"mqtt_cert",64,11,0x25000,0x1000',
    '"mqtt_key",64,12,0x26000,0x1000',
    '"mqtt_ca",64,13,0x27000,0x1000',
    '"ble_data",64,14,0x28000,0x2000',
  ],
  esp8266: [
    '"factory_param",64,8,0xf1000,0x1000',
    '"server_cert",64,2,0xf2000,0x2000',
    '"server_key",64,3,0xf4000,0x2000',
    '"server_ca",64,4,0xf6000,0x2000',
    '"client_cert",64,5,0xf8000,0x2000',
    '"client_key",64,6,0xfa000,0x2000',
    '"client_ca",64,7,0xfc000,0x2000',
    '"wpa2_cert",64,8,0xfe000,0x2000',
    '"wpa2_key",64,9,0x100000,0x2000',
    '"wpa2_ca",64,10,0x102000,0x2000',
    '"mqtt_cert",64,11,0x104000,0x2000',
    '"mqtt_key",64,12,0x106000,0x2000',
    '"mqtt_ca",64,13,0x108000,0x2000',
  ],
  // Only preset: 4.1.1.0 (table not in the protocol doc; the C3 layout is assumed).
  esp32c6: ['"mfg_nvs",1,2,0x1f000,0x1f000', '"fatfs",1,129,0x47000,0x19000'],
  'esp8266-1mb': [
    '"factory_param",64,8,0x19000,0x1000',
    '"client_cert",64,5,0x1a000,0x1000',
    '"client_key",64,6,0x1b000,0x1000',
    '"client_ca",64,7,0x1c000,0x1000',
    '"mqtt_cert",64,11,0x1d000,0x1000',
    '"mqtt_key",64,12,0x1e000,0x1000',
    '"mqtt_ca",64,13,0x1f000,0x1000',
  ],
};

const FIRMWARE: Record<string, { version: string; gmrChip: string }> = {
  esp32: { version: '2.4.0.0', gmrChip: 'ESP32' },
  esp32c3: { version: '2.4.0.0', gmrChip: 'ESP32C3' },
  esp32c2: { version: '3.0.0.0', gmrChip: 'ESP32C2' },
  'esp32c2-2mb': { version: '3.0.0.0', gmrChip: 'ESP32C2' },
  esp32c6: { version: '4.1.1.0', gmrChip: 'ESP32C6' },
  esp8266: { version: '2.3.0.0', gmrChip: 'ESP8266' },
  'esp8266-1mb': { version: '2.3.0.0', gmrChip: 'ESP8266' },
};

describe('presets', () => {
  it('covers every chip', () => {
    expect([...CHIP_NAMES].sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  it.each(Object.keys(EXPECTED))('%s: AT+SYSFLASH? lists the table exactly', async (chip) => {
    const wire = await quietEmulator({ chip: chip as never });
    const expected = EXPECTED[chip]!.map((row) => `+SYSFLASH:${row}\r\n`).join('') + '\r\nOK\r\n';
    expect(await wire.exchange('AT+SYSFLASH?\r\n')).toBe(expected);
  });

  it.each(Object.keys(FIRMWARE))('%s: AT+GMR reports the preset version and chip', async (chip) => {
    await expectGmr(chip, FIRMWARE[chip]!);
  });

  // v3.1+ personalities (§6 "Latest"): mfg_nvs (data = 1, nvs = 2) instead of the PKI partitions.
  const ESP32_MFG = ['"mfg_nvs",1,2,0x21000,0x1c000', '"fatfs",1,129,0x70000,0x90000'];
  const C3_MFG = ['"mfg_nvs",1,2,0x1f000,0x1f000', '"fatfs",1,129,0x47000,0x19000'];
  const C2_2MB_MFG = ['"mfg_nvs",1,2,0x1b000,0xf000'];
  const V3_PRESETS: Array<[string, string, string, string[]]> = [
    ['esp32', '3.2.0.0', 'ESP32', ESP32_MFG],
    ['esp32', '4.1.1.0', 'ESP32', ESP32_MFG],
    ['esp32c3', '3.2.0.0', 'ESP32C3', C3_MFG],
    ['esp32c3', '4.1.1.0', 'ESP32C3', C3_MFG],
    ['esp32c2', '3.1.0.0', 'ESP32C2', C3_MFG],
    ['esp32c2', '4.1.1.0', 'ESP32C2', C3_MFG],
    ['esp32c2-2mb', '3.1.0.0', 'ESP32C2', C2_2MB_MFG],
    ['esp32c2-2mb', '4.1.1.0', 'ESP32C2', C2_2MB_MFG],
    ['esp32c6', '4.1.1.0', 'ESP32C6', C3_MFG],
  ];

  it.each(V3_PRESETS)('%s %s: AT+SYSFLASH? lists the mfg_nvs table exactly', async (chip, firmware, _gmr, rows) => {
    const wire = await quietEmulator({ chip: chip as never, firmware });
    expect(await wire.exchange('AT+SYSFLASH?\r\n')).toBe(rows.map((row) => `+SYSFLASH:${row}\r\n`).join('') + '\r\nOK\r\n');
    expect(wire.emulator.preset.mfgNvs).toBe(true);
  });

  it.each(V3_PRESETS)('%s %s: AT+GMR reports the v3+ version', async (chip, version, gmrChip) => {
    await expectGmr(chip, { version, gmrChip }, version);
  });

  it('legacy presets have no mfg_nvs; the default firmware of each chip is unchanged', () => {
    for (const chip of ['esp32', 'esp32c3', 'esp32c2', 'esp32c2-2mb', 'esp8266', 'esp8266-1mb']) {
      expect(findPreset(chip).mfgNvs).toBe(false);
      expect(findPreset(chip).partitions.some((p) => p.label === 'mfg_nvs')).toBe(false);
    }
    expect(findPreset('esp32').firmware).toBe('2.4.0.0');
    expect(findPreset('esp32c6').firmware).toBe('4.1.1.0');
  });

  it('SYSFLASH read header reserve: 16 bytes up to v3.2, 32 from v4.1 (the 60 KiB C2 heap shows it)', async () => {
    expect(findPreset('esp32c3', '2.4.0.0').readHeaderReserve).toBe(16);
    expect(findPreset('esp32c3', '3.2.0.0').readHeaderReserve).toBe(16);
    expect(findPreset('esp32c3', '4.1.1.0').readHeaderReserve).toBe(32);
    const length = 60 * 1024 - 16;
    const v31 = await quietEmulator({ chip: 'esp32c2', firmware: '3.1.0.0' }, true);
    const ok = await v31.exchange(`AT+SYSFLASH=2,"fatfs",0,${length}\r\n`);
    expect(ok.startsWith(`+SYSFLASH:${length},`)).toBe(true);
    expect(ok.endsWith('\r\nOK\r\n')).toBe(true);
    const v411 = await quietEmulator({ chip: 'esp32c2', firmware: '4.1.1.0' }, true);
    expect(await v411.exchange(`AT+SYSFLASH=2,"fatfs",0,${length}\r\n`)).toBe('ERR CODE:0x010a0002\r\n\r\nERROR\r\n');
  });

  async function expectGmr(chip: string, { version, gmrChip }: { version: string; gmrChip: string }, firmware?: string): Promise<void> {
    const wire = await quietEmulator(firmware ? { chip: chip as never, firmware } : { chip: chip as never });
    const reply = await wire.exchange('AT+GMR\r\n');
    expect(reply.endsWith('\r\n\r\nOK\r\n')).toBe(true);
    const lines = reply.slice(0, -'\r\nOK\r\n'.length).split('\r\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(4);
    const escapedVersion = version.replace(/\./g, '\\.');
    expect(lines[0]).toMatch(new RegExp(`^AT version:${escapedVersion}\\([0-9a-f]{7} - ${gmrChip} - [A-Z][a-z]{2} [ \\d]\\d \\d{4} \\d\\d:\\d\\d:\\d\\d\\)$`));
    expect(lines[1]).toMatch(/^SDK version:v\d/);
    expect(lines[2]).toMatch(/^compile time\([0-9a-f]{7}\):[A-Z][a-z]{2} [ \d]\d \d{4} \d\d:\d\d:\d\d$/);
    expect(lines[3]).toMatch(/^Bin version:v?\d+\.\d+\.\d+(\.\d+)?\(.+\)$/);
  }

  it('sizes the flash image to the end of the last partition', () => {
    expect(new EspAtEmulator({ chip: 'esp32', startup: 'off' }).flash.size).toBe(0x100000);
    expect(new EspAtEmulator({ chip: 'esp8266', startup: 'off' }).flash.size).toBe(0x10a000);
    expect(new EspAtEmulator({ chip: 'esp32', firmware: '3.2.0.0', startup: 'off' }).flash.size).toBe(0x100000);
    expect(new EspAtEmulator({ chip: 'esp32c3', firmware: '3.2.0.0', startup: 'off' }).flash.size).toBe(0x60000);
    expect(new EspAtEmulator({ chip: 'esp32c2-2mb', firmware: '3.1.0.0', startup: 'off' }).flash.size).toBe(0x2a000);
  });

  it('selects presets by chip and firmware and names the choices on error', () => {
    expect(findPreset('esp32c3').firmware).toBe('2.4.0.0');
    expect(findPreset('esp32c2', '3.0.0.0').chip).toBe('esp32c2');
    expect(() => findPreset('esp32s9')).toThrow(/unknown chip "esp32s9".*esp32c3/);
    expect(() => findPreset('esp32', '9.9.9.9')).toThrow(/known: 2\.4\.0\.0/);
    expect(FIRMWARE_PRESETS.every((p) => p.partitions.every((q) => q.offset % 0x1000 === 0 && q.size % 0x1000 === 0))).toBe(true);
  });
});
