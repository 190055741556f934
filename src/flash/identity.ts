/**
 * Which unit is on the port: its factory MAC from eFuse, read with `AT+SYSREG=0,<address>` (ESP-AT
 * ≥ 2.2; answer `+SYSREG:0x<hex>`), the chip from `AT+GMR`. `AT+CIPSTAMAC?` (the Wi-Fi station MAC)
 * is only a cross-check: the user can set it. Where SYSREG is missing (ESP8266, old firmware) the
 * identity falls back to that settable MAC, and the record says so.
 */
import { DeviceError, ProtocolError } from '../errors.js';
import { formatVersion } from './firmware.js';
import type { EspAtModule } from './module.js';

export type IdentitySource = 'efuse' | 'station-mac';

export interface DeviceIdentity {
  /** `aa:bb:cc:dd:ee:ff`, lowercase. */
  mac: string;
  /** As `AT+GMR` names it: `ESP32C3`, `ESP32`, `ESP8266`…; `unknown` if it does not say. */
  chip: string;
  /** The AT firmware version, `2.4.0.0`. */
  firmware: string;
  source: IdentitySource;
  /** What `AT+CIPSTAMAC?` said, when the module answered it. */
  stationMac?: string;
  warnings: string[];
}

/**
 * Where each chip keeps its factory MAC in eFuse: two 32-bit words at `address` and `address + 4`;
 * the MAC is the low 16 bits of the second word, then the first word, big-endian — esptool's
 * `read_mac` (`struct.pack(">II", mac1, mac0)[2:]`). On the ESP32 bits 16–23 of the second word are
 * the MAC's CRC, not MAC. Addresses: esptool `esptool/targets/<chip>.py`, `MAC_EFUSE_REG`
 * (ESP32: `EFUSE_RD_REG_BASE` 0x3FF5A000, words 1 and 2 of `read_efuse`).
 */
export const EFUSE_MAC_REGISTERS: Readonly<Record<string, number>> = {
  ESP32: 0x3ff5a004, // esp32.py: read_efuse(1), read_efuse(2); EFUSE_RD_REG_BASE = 0x3FF5A000
  ESP32C2: 0x60008840, // esp32c2.py: EFUSE_BASE 0x60008800 + 0x040
  ESP32C3: 0x60008844, // esp32c3.py: EFUSE_BASE 0x60008800 + 0x044
  ESP32C5: 0x600b4844, // esp32c5.py: EFUSE_BASE 0x600B4800 + 0x044
  ESP32C6: 0x600b0844, // esp32c6.py: EFUSE_BASE 0x600B0800 + 0x044
  ESP32S2: 0x3f41a044, // esp32s2.py: MAC_EFUSE_REG = 0x3F41A044
  ESP32S3: 0x60007044, // esp32s3.py: EFUSE_BASE 0x60007000 + 0x044
};

/** Reads of each register until two in a row agree: a digit garbled on the line must not become another unit. */
const REGISTER_READS = 4;

export interface IdentityOptions {
  signal?: AbortSignal;
  /** Budget for each command's answer, ms. @default the session's */
  timeoutMs?: number;
}

/** The chip name inside `AT version:2.4.0.0(4c6eb5e - ESP32C3 - May 20 2022 03:12:58)`. */
export function chipOfFirmware(atVersionText: string | undefined): string {
  const match = atVersionText && /\([^)]*?-\s*(ESP[0-9A-Z_-]+)\s*-/i.exec(atVersionText);
  return match ? match[1]!.toUpperCase().replace(/[-_]/g, '') : 'unknown';
}

/** The MAC from the two eFuse words, as esptool's read_mac. */
export function macFromEfuseWords(first: number, second: number): string {
  const bytes = Buffer.alloc(6);
  bytes.writeUInt16BE(second & 0xffff, 0);
  bytes.writeUInt32BE(first >>> 0, 2);
  return formatMac(bytes);
}

export function formatMac(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/** `AA-BB-CC-DD-EE-FF`, `aabbccddeeff`, `aa:bb:…` → `aa:bb:cc:dd:ee:ff`; undefined if it is not a MAC. */
export function normalizeMac(text: string): string | undefined {
  const hex = text.trim().toLowerCase().replace(/[:-]/g, '');
  if (!/^[0-9a-f]{12}$/.test(hex)) return undefined;
  return hex.match(/../g)!.join(':');
}

export async function readDeviceIdentity(module: EspAtModule, options: IdentityOptions = {}): Promise<DeviceIdentity> {
  const chip = chipOfFirmware(module.firmware.atVersionText);
  const firmware = formatVersion(module.firmware.atVersion);
  const warnings: string[] = [];
  const stationMac = await readStationMac(module, options, warnings);
  const register = EFUSE_MAC_REGISTERS[chip];
  let efuseMac: string | undefined;
  if (register !== undefined) {
    efuseMac = await readEfuseMac(module, register, options);
    if (efuseMac === undefined) warnings.push(`the module does not answer AT+SYSREG (ESP-AT before 2.2?): its identity is the settable station MAC`);
  } else {
    warnings.push(`no eFuse MAC address known for chip ${chip}: its identity is the settable station MAC`);
  }
  if (efuseMac !== undefined) {
    if (isBlank(efuseMac)) {
      throw new DeviceError(`the module's eFuse MAC reads ${efuseMac} (not programmed): it cannot be identified`, { details: { chip, mac: efuseMac, deviceState: 'unchanged' } });
    }
    if (stationMac !== undefined && stationMac !== efuseMac) {
      warnings.push(`station MAC ${stationMac} (AT+CIPSTAMAC) differs from the eFuse MAC ${efuseMac}`);
    }
    return { mac: efuseMac, chip, firmware, source: 'efuse', ...(stationMac ? { stationMac } : {}), warnings };
  }
  if (stationMac === undefined || isBlank(stationMac)) {
    throw new DeviceError(`the module on ${module.url} answers neither AT+SYSREG nor AT+CIPSTAMAC?: it cannot be identified`, {
      details: { chip, deviceState: 'unchanged' },
    });
  }
  return { mac: stationMac, chip, firmware, source: 'station-mac', stationMac, warnings };
}

function isBlank(mac: string): boolean {
  return mac === '00:00:00:00:00:00' || mac === 'ff:ff:ff:ff:ff:ff';
}

/** The eFuse MAC, or undefined when the firmware has no AT+SYSREG (it answers ERROR). */
async function readEfuseMac(module: EspAtModule, register: number, options: IdentityOptions): Promise<string | undefined> {
  let first: number | undefined;
  try {
    first = await readStableRegister(module, register, options);
  } catch (error) {
    if (error instanceof DeviceError) return undefined;
    throw error;
  }
  const second = await readStableRegister(module, register + 4, options);
  return macFromEfuseWords(first, second);
}

async function readStableRegister(module: EspAtModule, address: number, options: IdentityOptions): Promise<number> {
  let previous: number | undefined;
  for (let read = 0; read < REGISTER_READS; read++) {
    const value = await readRegister(module, address, options);
    if (value === previous) return value;
    previous = value;
  }
  throw new ProtocolError(`the module answered AT+SYSREG=0,0x${address.toString(16)} differently each time it was asked (${REGISTER_READS} times): check the line`, {
    details: { command: 'AT+SYSREG', deviceState: 'unchanged' },
  });
}

async function readRegister(module: EspAtModule, address: number, options: IdentityOptions): Promise<number> {
  const command = `AT+SYSREG=0,0x${address.toString(16)}`;
  const answer = await module.session.command(command, { signal: options.signal, timeoutMs: options.timeoutMs });
  for (const line of answer.lines) {
    const match = /^\+SYSREG:\s*(0x[0-9a-f]{1,8}|\d{1,10})\s*$/i.exec(line);
    if (match) {
      const value = Number(match[1]);
      if (value <= 0xffffffff) return value;
    }
  }
  throw new ProtocolError(`the module answered ${command} without a +SYSREG:0x<hex> line`, { details: { command: 'AT+SYSREG', deviceState: 'unchanged' } });
}

/** `AT+CIPSTAMAC?` → `+CIPSTAMAC:"aa:bb:cc:dd:ee:ff"`, read twice to agree; undefined (with a warning) when the module refuses it. */
async function readStationMac(module: EspAtModule, options: IdentityOptions, warnings: string[]): Promise<string | undefined> {
  let previous: string | undefined;
  for (let read = 0; read < REGISTER_READS; read++) {
    let answer;
    try {
      answer = await module.session.command('AT+CIPSTAMAC?', { signal: options.signal, timeoutMs: options.timeoutMs });
    } catch (error) {
      if (!(error instanceof DeviceError)) throw error;
      warnings.push('the module refuses AT+CIPSTAMAC? (Wi-Fi off?): the station MAC was not cross-checked');
      return undefined;
    }
    const line = answer.lines.find((l) => l.startsWith('+CIPSTAMAC:'));
    const mac = line === undefined ? undefined : normalizeMac(line.slice('+CIPSTAMAC:'.length).replace(/"/g, ''));
    if (mac === undefined) {
      throw new ProtocolError('the module answered AT+CIPSTAMAC? without a +CIPSTAMAC:"<mac>" line', { details: { command: 'AT+CIPSTAMAC?', deviceState: 'unchanged' } });
    }
    if (mac === previous) return mac;
    previous = mac;
  }
  throw new ProtocolError(`the module answered AT+CIPSTAMAC? differently each time it was asked (${REGISTER_READS} times): check the line`, {
    details: { command: 'AT+CIPSTAMAC?', deviceState: 'unchanged' },
  });
}
