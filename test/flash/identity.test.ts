/**
 * Device identity: the eFuse MAC through AT+SYSREG per chip (esptool's read_mac layout, the ESP32's
 * CRC byte ignored), the station MAC as a cross-check only, the fallback where SYSREG is missing,
 * and the emulator's MAC options.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { EspAtEmulator, macForName, parseMockUrl, type EspAtEmulatorOptions } from '../../mock-device/index.js';
import { chipOfFirmware, EFUSE_MAC_REGISTERS, macFromEfuseWords, normalizeMac, readDeviceIdentity } from '../../src/flash/identity.js';
import { EspAtModule } from '../../src/flash/module.js';
import { testDevice, type TestDevice } from '../support/device.js';

const devices: TestDevice[] = [];
const modules: EspAtModule[] = [];
afterEach(async () => {
  while (modules.length) await modules.pop()!.close();
  while (devices.length) devices.pop()!.dispose();
});

async function connect(options: EspAtEmulatorOptions): Promise<{ module: EspAtModule; device: TestDevice }> {
  const device = testDevice(options, undefined);
  devices.push(device);
  const module = await EspAtModule.connect(device.url);
  modules.push(module);
  return { module, device };
}

describe('identity helpers', () => {
  it('reads the chip out of the AT version line', () => {
    expect(chipOfFirmware('2.4.0.0(4c6eb5e - ESP32C3 - May 20 2022 03:12:58)')).toBe('ESP32C3');
    expect(chipOfFirmware('3.2.0.0(s-ec2dec2 - ESP32 - Jul 28 2023 07:05:28)')).toBe('ESP32');
    expect(chipOfFirmware('2.2.0.0(b097cdf - ESP8266 - Jun 17 2021 12:57:45)')).toBe('ESP8266');
    expect(chipOfFirmware(undefined)).toBe('unknown');
  });

  it('forms the MAC as esptool read_mac: low 16 bits of the second word, then the first word', () => {
    // ESP32: bits 16–23 of the second word are a CRC, not MAC.
    expect(macFromEfuseWords(0xc4001122, 0x00ab240a)).toBe('24:0a:c4:00:11:22');
    expect(macFromEfuseWords(0xa1020304, 0xffff7cdf)).toBe('7c:df:a1:02:03:04');
    expect(normalizeMac('AA-BB-CC-DD-EE-FF')).toBe('aa:bb:cc:dd:ee:ff');
    expect(normalizeMac('aabbccddeeff')).toBe('aa:bb:cc:dd:ee:ff');
    expect(normalizeMac('aa:bb:cc')).toBeUndefined();
  });

  it('knows the registers of ESP32, C2, C3, C5, C6, S2, S3', () => {
    expect(Object.keys(EFUSE_MAC_REGISTERS).sort()).toEqual(['ESP32', 'ESP32C2', 'ESP32C3', 'ESP32C5', 'ESP32C6', 'ESP32S2', 'ESP32S3']);
    expect(EFUSE_MAC_REGISTERS.ESP32).toBe(0x3ff5a004);
    expect(EFUSE_MAC_REGISTERS.ESP32C3).toBe(0x60008844);
  });
});

describe('readDeviceIdentity', () => {
  for (const [chip, firmware] of [
    ['esp32', undefined],
    ['esp32c3', undefined],
    ['esp32c3', '3.2.0.0'],
    ['esp32c2', undefined],
    ['esp32c6', undefined],
  ] as const) {
    it(`reads the eFuse MAC of an emulated ${chip}${firmware ? ` ${firmware}` : ''}`, async () => {
      const { module } = await connect({ chip, firmware, mac: '24:0a:c4:12:34:56' });
      const identity = await readDeviceIdentity(module);
      expect(identity).toMatchObject({ mac: '24:0a:c4:12:34:56', source: 'efuse', stationMac: '24:0a:c4:12:34:56', warnings: [] });
      expect(identity.chip).toBe(chip.toUpperCase().replace('-2MB', ''));
      expect(identity.firmware).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    });
  }

  it('keeps the eFuse MAC as identity when the station MAC was changed, with a warning', async () => {
    const { module, device } = await connect({ chip: 'esp32c3', mac: '24:0a:c4:00:00:01', stationMac: '02:12:34:56:78:9a' });
    const identity = await readDeviceIdentity(module);
    expect(identity.mac).toBe('24:0a:c4:00:00:01');
    expect(identity.stationMac).toBe('02:12:34:56:78:9a');
    expect(identity.warnings).toEqual([expect.stringContaining('differs from the eFuse MAC')]);
    // Reading the identity writes nothing.
    expect(device.emulator!.stats.flashBytesWritten + device.emulator!.stats.flashBytesErased).toBe(0);
  });

  it('falls back to the station MAC where AT+SYSREG is missing (ESP8266), and says so', async () => {
    const { module } = await connect({ chip: 'esp8266', mac: '5c:cf:7f:00:00:02' });
    const identity = await readDeviceIdentity(module);
    expect(identity).toMatchObject({ mac: '5c:cf:7f:00:00:02', chip: 'ESP8266', source: 'station-mac', stationMac: '5c:cf:7f:00:00:02' });
    expect(identity.warnings).toEqual([expect.stringContaining('settable station MAC')]);
  });

  it('refuses a unit whose eFuse MAC is blank', async () => {
    const { module } = await connect({ chip: 'esp32c3', mac: '00:00:00:00:00:00', stationMac: '02:00:00:00:00:01' });
    await expect(readDeviceIdentity(module)).rejects.toMatchObject({ code: 'DEVICE_ERROR', message: expect.stringContaining('not programmed') });
  });
});

describe('emulator identity options', () => {
  it('derives a stable default MAC from the unit name, and takes mac=/stamac= in mock URLs', () => {
    expect(new EspAtEmulator({ chip: 'esp32c3', name: 'unit-1', startup: 'off' }).identity.efuseMac).toEqual(macForName('unit-1'));
    expect(macForName('unit-1')).not.toEqual(macForName('unit-2'));
    expect(parseMockUrl('mock://esp32c3?id=u7').emulator.name).toBe('u7');
    expect(parseMockUrl('mock://esp32c3?mac=aa:bb:cc:dd:ee:f0&stamac=02:00:00:00:00:09').emulator).toMatchObject({ mac: 'aa:bb:cc:dd:ee:f0', stationMac: '02:00:00:00:00:09' });
    expect(() => parseMockUrl('mock://esp32c3?mac=nope')).toThrow(/mac must be a MAC/);
    expect(() => new EspAtEmulator({ mac: 'zz', startup: 'off' })).toThrow(RangeError);
  });

  it('answers AT+CIPSTAMAC= like the firmware (sets it, refuses a multicast address)', async () => {
    const { module } = await connect({ chip: 'esp32c3', mac: '24:0a:c4:00:00:05' });
    await module.session.command('AT+CIPSTAMAC="02:aa:bb:cc:dd:ee"');
    await expect(module.session.command('AT+CIPSTAMAC="01:aa:bb:cc:dd:ee"')).rejects.toMatchObject({ code: 'DEVICE_ERROR' });
    const identity = await readDeviceIdentity(module);
    expect(identity).toMatchObject({ mac: '24:0a:c4:00:00:05', stationMac: '02:aa:bb:cc:dd:ee' });
  });
});
