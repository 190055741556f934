/**
 * Who the emulated unit is: its factory MAC, burned into eFuse (read with AT+SYSREG, as esptool's
 * read_mac finds it), and its Wi-Fi station MAC (AT+CIPSTAMAC, the eFuse MAC unless set otherwise).
 * The register layout per chip is esptool's (`esptool/targets/<chip>.py`, MAC_EFUSE_REG): the MAC
 * is the low 16 bits of the word at MAC_EFUSE_REG + 4, then the word at MAC_EFUSE_REG. ESP8266
 * firmware has no AT+SYSREG here (answers ERROR), as older ESP-AT builds.
 */
import { createHash } from 'node:crypto';
import type { ChipName } from './firmware-presets.js';

/** MAC_EFUSE_REG per chip (esptool); the ESP32's is EFUSE_RD_REG_BASE + 4 (read_efuse(1)). */
const MAC_EFUSE_REG: Readonly<Partial<Record<ChipName, number>>> = {
  esp32: 0x3ff5a004,
  esp32c3: 0x60008844,
  esp32c2: 0x60008840,
  'esp32c2-2mb': 0x60008840,
  esp32c6: 0x600b0844,
};

/** Espressif's OUI, the first three bytes of the MACs derived from a name. */
const DEFAULT_OUI = [0x7c, 0xdf, 0xa1];

/** `aa:bb:cc:dd:ee:ff` (also `-` separated or bare hex) → 6 bytes; undefined if it is not a MAC. */
export function parseMac(text: string): Buffer | undefined {
  const hex = text.trim().toLowerCase().replace(/[:-]/g, '');
  return /^[0-9a-f]{12}$/.test(hex) ? Buffer.from(hex, 'hex') : undefined;
}

export function formatMac(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/** A stable MAC for a unit name: Espressif's OUI and three bytes of the name's SHA-256. */
export function macForName(name: string): Buffer {
  const digest = createHash('sha256').update(name).digest();
  return Buffer.from([...DEFAULT_OUI, digest[0]!, digest[1]!, digest[2]!]);
}

export class UnitIdentity {
  readonly efuseMac: Buffer;
  /** AT+CIPSTAMAC's value; settable like the firmware's. */
  stationMac: Buffer;
  readonly #register: number | undefined;

  constructor(chip: ChipName, efuseMac: Buffer, stationMac: Buffer = efuseMac) {
    this.efuseMac = Buffer.from(efuseMac);
    this.stationMac = Buffer.from(stationMac);
    this.#register = MAC_EFUSE_REG[chip];
  }

  /** Whether the firmware has AT+SYSREG (the eFuse MAC is readable). */
  get hasSysreg(): boolean {
    return this.#register !== undefined;
  }

  /** AT+SYSREG=0,<address>: the two MAC words; other addresses read as 0 here. */
  readRegister(address: number): number {
    const base = this.#register;
    const mac = this.efuseMac;
    if (base === undefined) return 0;
    if (address === base) return mac.readUInt32BE(2);
    if (address === base + 4) {
      // ESP32: bits 16–23 are the MAC's CRC; other chips keep other eFuse fields above bit 15.
      const high = base === 0x3ff5a004 ? crc8(mac) << 16 : 0x00a50000;
      return (high | mac.readUInt16BE(0)) >>> 0;
    }
    return 0;
  }
}

/** A CRC-8 over the MAC bytes: any byte in bits 16–23, so a reader that forgets to mask them fails. */
function crc8(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) {
    crc ^= byte;
    for (let i = 0; i < 8; i++) crc = crc & 0x80 ? ((crc << 1) ^ 0x07) & 0xff : (crc << 1) & 0xff;
  }
  return crc || 0x5a;
}

/** The identity for emulator options `mac`, `stationMac`, `name`. RangeError for a malformed MAC. */
export function unitIdentityFromOptions(chip: ChipName, options: { mac?: string; stationMac?: string; name?: string }): UnitIdentity {
  const parse = (field: string, text: string): Buffer => {
    const mac = parseMac(text);
    if (!mac) throw new RangeError(`${field} must be a MAC address like aa:bb:cc:dd:ee:ff, got "${text}"`);
    return mac;
  };
  const efuse = options.mac !== undefined ? parse('mac', options.mac) : macForName(options.name ?? chip);
  return new UnitIdentity(chip, efuse, options.stationMac !== undefined ? parse('stationMac', options.stationMac) : efuse);
}
