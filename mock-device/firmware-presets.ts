/**
 * Chip + firmware personalities: which partition table the module has, what `AT+GMR` prints,
 * whether it keeps credentials in `mfg_nvs` (AT+SYSMFG, v3.1+) and the few chip limits the
 * emulator enforces. Add a preset here to emulate another build.
 *
 * The `AT+GMR` hashes/dates are plausible placeholders in the real format (protocol doc §4),
 * not copied from a specific binary.
 */
import {
  ESP32_LEGACY_TABLE,
  ESP32_MFG_TABLE,
  ESP32C2_2MB_LEGACY_TABLE,
  ESP32C2_2MB_MFG_TABLE,
  ESP32C2_LEGACY_TABLE,
  ESP32C2_MFG_TABLE,
  ESP32C3_LEGACY_TABLE,
  ESP32C3_MFG_TABLE,
  ESP32C6_MFG_TABLE,
  ESP8266_1MB_LEGACY_TABLE,
  ESP8266_LEGACY_TABLE,
  MFG_NVS_LABEL,
  type PartitionInfo,
} from './partition-tables.js';

export type ChipName = 'esp32' | 'esp32c3' | 'esp32c2' | 'esp32c2-2mb' | 'esp32c6' | 'esp8266' | 'esp8266-1mb';

export interface FirmwarePreset {
  readonly chip: ChipName;
  /** Four-part AT firmware version, e.g. "2.4.0.0". */
  readonly firmware: string;
  /** Chip name as `AT+GMR` prints it, e.g. "ESP32C3". */
  readonly gmrChipName: string;
  readonly partitions: readonly PartitionInfo[];
  /** Lines of `AT+GMR` before the OK, without CR LF. */
  readonly gmrLines: readonly string[];
  /** Upper limit accepted by AT+UART_CUR (lower limit is 80). */
  readonly maxBaudRate: number;
  /**
   * Largest heap block the firmware can get; SYSFLASH buffers the whole payload (`malloc(len+1)`),
   * bigger requests fail with 0x010a0002. Approximate free-heap figures.
   */
  readonly maxAllocBytes: number;
  /**
   * v3.1+ "mfg NVS" personality: the table has `mfg_nvs` and the firmware has AT+SYSMFG.
   * False for the legacy (separate PKI partitions) firmware, which answers AT+SYSMFG with ERROR.
   */
  readonly mfgNvs: boolean;
  /**
   * Spare bytes the firmware reserves in front of an AT+SYSFLASH read buffer for the header:
   * 16 up to v3.2.x and in v4.0.0.0, 32 from v3.3.0.0 / v4.1.0.0 (protocol doc §2.6).
   */
  readonly readHeaderReserve: number;
}

interface GmrFacts {
  hash: string;
  buildDate: string;
  sdk: string;
  compileHash: string;
  compileDate: string;
  binVersion: string;
  module: string;
}

function gmr(firmware: string, chipName: string, f: GmrFacts): string[] {
  return [
    `AT version:${firmware}(${f.hash} - ${chipName} - ${f.buildDate})`,
    `SDK version:${f.sdk}`,
    `compile time(${f.compileHash}):${f.compileDate}`,
    `Bin version:${f.binVersion}(${f.module})`,
  ];
}

/** Versions whose SYSFLASH read reserves 32 header bytes (v3.3.0.0+ except v4.0.0.0). */
function readHeaderReserveOf(firmware: string): number {
  const [major = 0, minor = 0] = firmware.split('.').map(Number);
  if (major === 3 && minor >= 3) return 32;
  if (major === 4 && minor === 0) return 16;
  return major >= 4 ? 32 : 16;
}

function preset(
  chip: ChipName,
  firmware: string,
  gmrChipName: string,
  partitions: readonly PartitionInfo[],
  facts: GmrFacts,
  maxBaudRate: number,
  maxAllocBytes: number,
): FirmwarePreset {
  return Object.freeze({
    chip,
    firmware,
    gmrChipName,
    partitions,
    gmrLines: Object.freeze(gmr(firmware, gmrChipName, facts)),
    maxBaudRate,
    maxAllocBytes,
    mfgNvs: partitions.some((p) => p.label === MFG_NVS_LABEL),
    readHeaderReserve: readHeaderReserveOf(firmware),
  });
}

const ESP32_FACTS: GmrFacts = {
  hash: '4c6eb5e', buildDate: 'May 20 2022 03:12:58', sdk: 'v4.2.2-76-gefa6eca',
  compileHash: '3a696ba', compileDate: 'May 20 2022 03:29:31', binVersion: '2.4.0', module: 'WROOM-32',
};
const ESP32C3_FACTS: GmrFacts = {
  hash: '4c6eb5e', buildDate: 'May 20 2022 03:11:59', sdk: 'v4.3.2-483-gd5b7dbb0d4',
  compileHash: '3a696ba', compileDate: 'May 20 2022 03:28:15', binVersion: '2.4.0', module: 'MINI-1',
};
const ESP32C2_FACTS: GmrFacts = {
  hash: '1cc5fe2', buildDate: 'Nov 23 2022 06:46:42', sdk: 'v5.0-243-g4e0d9e4d0a',
  compileHash: 'b1f3d7c', compileDate: 'Nov 23 2022 07:02:11', binVersion: 'v3.0.0.0', module: 'ESP8684-MINI-1 4MB',
};
const ESP32C2_2MB_FACTS: GmrFacts = { ...ESP32C2_FACTS, binVersion: 'v3.0.0.0', module: 'ESP8684-MINI-1 2MB' };
const ESP8266_FACTS: GmrFacts = {
  hash: 'f4b55a8', buildDate: 'Aug 13 2025 10:25:19', sdk: 'v3.4-98-g1adbb3ea',
  compileHash: '92b1a75', compileDate: 'Aug 13 2025 10:33:40', binVersion: '2.3.0', module: 'WROOM-02',
};
const ESP8266_1MB_FACTS: GmrFacts = { ...ESP8266_FACTS, module: 'ESP8266_1MB' };

// v3.1+ (mfg_nvs) builds. Placeholders in the real format, like the ones above.
const ESP32_V32_FACTS: GmrFacts = {
  hash: 'ec2dec2', buildDate: 'Jul 28 2023 07:05:28', sdk: 'v5.0.2-376-g24b9d38a24',
  compileHash: '9c9a0d3', compileDate: 'Jul 28 2023 07:18:40', binVersion: 'v3.2.0.0', module: 'ESP32-WROOM-32',
};
const ESP32C3_V32_FACTS: GmrFacts = { ...ESP32_V32_FACTS, buildDate: 'Jul 28 2023 07:03:44', compileDate: 'Jul 28 2023 07:16:02', module: 'ESP32-C3-MINI-1' };
const ESP32C2_V31_FACTS: GmrFacts = {
  hash: '5a6f3b1', buildDate: 'Jun 29 2023 03:41:12', sdk: 'v5.0.2-136-g5b1d8ba2de',
  compileHash: '2f9a6e0', compileDate: 'Jun 29 2023 03:55:48', binVersion: 'v3.1.0.0', module: 'ESP32C2-4MB',
};
const ESP32C2_2MB_V31_FACTS: GmrFacts = { ...ESP32C2_V31_FACTS, module: 'ESP32C2-2MB' };
const V411_FACTS: GmrFacts = {
  hash: '9ae7a1c', buildDate: 'Jan 14 2025 09:41:27', sdk: 'v5.4-1-g0c0f2f4a36',
  compileHash: 'c1bde3f', compileDate: 'Jan 14 2025 09:58:03', binVersion: 'v4.1.1.0', module: 'MINI-1',
};
const ESP32_V411_FACTS: GmrFacts = { ...V411_FACTS, module: 'ESP32-WROOM-32' };
const ESP32C3_V411_FACTS: GmrFacts = { ...V411_FACTS, module: 'ESP32-C3-MINI-1' };
const ESP32C2_V411_FACTS: GmrFacts = { ...V411_FACTS, module: 'ESP32C2-4MB' };
const ESP32C2_2MB_V411_FACTS: GmrFacts = { ...V411_FACTS, module: 'ESP32C2-2MB' };
const ESP32C6_V411_FACTS: GmrFacts = { ...V411_FACTS, module: 'ESP32C6-4MB' };

/**
 * Every preset; the first one of each chip is its default firmware (the legacy build where one
 * exists, so a bare `mock://esp32c3` stays the v2.4 SYSFLASH module).
 */
export const FIRMWARE_PRESETS: readonly FirmwarePreset[] = Object.freeze([
  preset('esp32', '2.4.0.0', 'ESP32', ESP32_LEGACY_TABLE, ESP32_FACTS, 5_000_000, 160 * 1024),
  preset('esp32c3', '2.4.0.0', 'ESP32C3', ESP32C3_LEGACY_TABLE, ESP32C3_FACTS, 5_000_000, 160 * 1024),
  preset('esp32c2', '3.0.0.0', 'ESP32C2', ESP32C2_LEGACY_TABLE, ESP32C2_FACTS, 2_500_000, 60 * 1024),
  preset('esp32c2-2mb', '3.0.0.0', 'ESP32C2', ESP32C2_2MB_LEGACY_TABLE, ESP32C2_2MB_FACTS, 2_500_000, 60 * 1024),
  preset('esp8266', '2.3.0.0', 'ESP8266', ESP8266_LEGACY_TABLE, ESP8266_FACTS, 4_500_000, 40 * 1024),
  preset('esp8266-1mb', '2.3.0.0', 'ESP8266', ESP8266_1MB_LEGACY_TABLE, ESP8266_1MB_FACTS, 4_500_000, 40 * 1024),
  // v3.1+ personalities: mfg_nvs + AT+SYSMFG (protocol doc §3, §6 "Latest").
  preset('esp32', '3.2.0.0', 'ESP32', ESP32_MFG_TABLE, ESP32_V32_FACTS, 5_000_000, 160 * 1024),
  preset('esp32', '4.1.1.0', 'ESP32', ESP32_MFG_TABLE, ESP32_V411_FACTS, 5_000_000, 160 * 1024),
  preset('esp32c3', '3.2.0.0', 'ESP32C3', ESP32C3_MFG_TABLE, ESP32C3_V32_FACTS, 5_000_000, 160 * 1024),
  preset('esp32c3', '4.1.1.0', 'ESP32C3', ESP32C3_MFG_TABLE, ESP32C3_V411_FACTS, 5_000_000, 160 * 1024),
  preset('esp32c2', '3.1.0.0', 'ESP32C2', ESP32C2_MFG_TABLE, ESP32C2_V31_FACTS, 2_500_000, 60 * 1024),
  preset('esp32c2', '4.1.1.0', 'ESP32C2', ESP32C2_MFG_TABLE, ESP32C2_V411_FACTS, 2_500_000, 60 * 1024),
  preset('esp32c2-2mb', '3.1.0.0', 'ESP32C2', ESP32C2_2MB_MFG_TABLE, ESP32C2_2MB_V31_FACTS, 2_500_000, 60 * 1024),
  preset('esp32c2-2mb', '4.1.1.0', 'ESP32C2', ESP32C2_2MB_MFG_TABLE, ESP32C2_2MB_V411_FACTS, 2_500_000, 60 * 1024),
  preset('esp32c6', '4.1.1.0', 'ESP32C6', ESP32C6_MFG_TABLE, ESP32C6_V411_FACTS, 5_000_000, 160 * 1024),
]);

export const CHIP_NAMES: readonly ChipName[] = Object.freeze([...new Set(FIRMWARE_PRESETS.map((p) => p.chip))]);

export function isChipName(value: string): value is ChipName {
  return (CHIP_NAMES as readonly string[]).includes(value);
}

/**
 * The preset for a chip and firmware version (default: the chip's first preset).
 * Throws a RangeError naming the valid choices.
 */
export function findPreset(chip: string, firmware?: string): FirmwarePreset {
  const ofChip = FIRMWARE_PRESETS.filter((p) => p.chip === chip);
  if (ofChip.length === 0) {
    throw new RangeError(`unknown chip "${chip}" (known: ${CHIP_NAMES.join(', ')})`);
  }
  if (firmware === undefined) return ofChip[0]!;
  const match = ofChip.find((p) => p.firmware === firmware);
  if (!match) {
    throw new RangeError(
      `no ${chip} preset for firmware ${firmware} (known: ${ofChip.map((p) => p.firmware).join(', ')})`,
    );
  }
  return match;
}
