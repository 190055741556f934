/**
 * Construction options of EspAtEmulator, with their defaults in one place.
 */
import type { CommandFamily } from './commands/command-types.js';
import type { FaultOptions } from './faults/fault-options.js';
import type { FlashFill } from './flash-fill.js';
import type { ChipName } from './firmware-presets.js';
import type { MfgContent } from './mfg-defaults.js';
import type { PartitionInfo } from './partition-tables.js';

/** Flash timing figures (used only when flash timing is enabled). */
export interface FlashTimingOptions {
  /** Time to erase one 4 KiB sector. Default 45 ms. */
  sectorEraseMs?: number;
  /** Time to program one 256-byte page. Default 0.7 ms. */
  pageProgramMs?: number;
}

/**
 * How the emulator starts:
 * - `boot`: power on now and print `\r\nready\r\n` after the boot delay;
 * - `running`: as if it booted long ago (no `ready`), accepting commands at once;
 * - `off`: unpowered until `powerOn()`.
 */
export type StartupMode = 'boot' | 'running' | 'off';

export interface EspAtEmulatorOptions {
  /** The unit's factory (eFuse) MAC, `aa:bb:cc:dd:ee:ff`. Default: derived from `name`. */
  mac?: string;
  /** What AT+CIPSTAMAC? answers at first (user-settable). Default: the eFuse MAC. */
  stationMac?: string;
  /** The unit's name, from which its default MAC is derived. Default: the chip name. */
  name?: string;
  /** Chip preset. Default `esp32`. */
  chip?: ChipName;
  /**
   * Firmware version of the preset. Default: the chip's default (esp32/esp32c3 2.4.0.0,
   * esp32c2* 3.0.0.0, esp8266* 2.3.0.0, esp32c6 4.1.1.0). v3.1+ versions (esp32 3.2.0.0/4.1.1.0,
   * esp32c3 3.2.0.0/4.1.1.0, esp32c2* 3.1.0.0/4.1.1.0, esp32c6 4.1.1.0) have mfg_nvs + AT+SYSMFG.
   */
  firmware?: string;
  /**
   * Initial content of mfg_nvs (v3.1+ presets only; ignored otherwise and when `flashImage` is
   * given): `default` = factory_param + example PKI entries, `empty` = no keys. Default `default`.
   */
  mfg?: MfgContent;
  /** Initial flash content. Default `ff` (erased). */
  fill?: FlashFill;
  /** Seed for `fill: 'garbage'`. Default 1. */
  seed?: number;
  /** Initial flash image (whole image, overrides `fill`); must match the preset's image size. */
  flashImage?: Uint8Array;
  /** Release output and accept input at baud/10 bytes per second. Default false. */
  lineTiming?: boolean;
  /** Make erase/program take time (true = default figures). Default false. */
  flashTiming?: boolean | FlashTimingOptions;
  /** UART baud rate after every boot (the module's stored default). Default 115200. */
  baudRate?: number;
  /** Time from power-on/restart to `ready`. Default 5 ms. */
  bootDelayMs?: number;
  /** See StartupMode. Default `boot`. */
  startup?: StartupMode;
  /**
   * Rows appended to the preset's at_customize table (a firmware built with a custom table, e.g.
   * with an `esp_secure_cert` partition). Must not overlap the preset's rows. Default none.
   */
  extraPartitions?: readonly PartitionInfo[];
  /** Extra command families, added after (and overriding) the firmware's own. */
  extraCommands?: readonly CommandFamily[];
  /**
   * Seeded faults on the line and in the module (drop, corrupt, busy, error, silent, reset,
   * disconnect, powerCut), each a probability or at chosen bytes/commands — see README "Faults".
   * Same as `setFaults()` after construction. Default none.
   */
  faults?: FaultOptions;
}

export const DEFAULT_BAUD_RATE = 115200;
export const DEFAULT_BOOT_DELAY_MS = 5;
export const DEFAULT_SECTOR_ERASE_MS = 45;
export const DEFAULT_PAGE_PROGRAM_MS = 0.7;
