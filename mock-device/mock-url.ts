/**
 * `mock://<chip>[?options]` URLs, e.g. `mock://esp32c3?fw=2.4.0.0&fill=garbage&seed=7&timing=line,flash&id=unit1&mac=7c:df:a1:00:00:01`.
 * Every option is documented in mock-device/README.md. Unknown options are rejected so a typo
 * does not silently give a different device.
 */
import type { EspAtEmulatorOptions, FlashTimingOptions } from './emulator-options.js';
import { MockDeviceError } from './errors.js';
import { parseFaultSpec } from './faults/fault-options.js';
import { FLASH_FILLS, type FlashFill } from './flash-fill.js';
import { CHIP_NAMES, findPreset, isChipName, type ChipName } from './firmware-presets.js';
import { MFG_CONTENTS, type MfgContent } from './mfg-defaults.js';
import { parseMac } from './unit-identity.js';

export interface MockUrlOptions {
  chip: ChipName;
  /** Emulator construction options derived from the URL (without `startup`). */
  emulator: EspAtEmulatorOptions;
  /** `id=`: name in the process-wide registry. */
  id?: string;
  /** `state=`: flash image file to load and keep saved. */
  statePath?: string;
  /** `boot=` (default true): power-cycle the module at open so the opener sees `ready`. */
  boot: boolean;
}

const KNOWN = new Set(['fw', 'fill', 'seed', 'timing', 'id', 'state', 'boot', 'baud', 'bootms', 'erasems', 'pagems', 'mfg', 'part', 'faults', 'faultseed', 'mac', 'stamac']);

function bad(url: URL | string, message: string): MockDeviceError {
  return new MockDeviceError('PORT_UNAVAILABLE', `${String(url)}: ${message}`);
}

function number(url: URL | string, name: string, text: string, min: number): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value < min) {
    throw bad(url, `${name}=${text} is not a number ≥ ${min}`);
  }
  return value;
}

export function parseMockUrl(input: URL | string): MockUrlOptions {
  const url = typeof input === 'string' ? new URL(input) : input;
  if (url.protocol !== 'mock:') throw bad(url, 'not a mock: URL');
  const chipText = url.hostname || 'esp32';
  if (!isChipName(chipText)) throw bad(url, `unknown chip "${chipText}" (known: ${CHIP_NAMES.join(', ')})`);
  const chip = chipText;
  const emulator: EspAtEmulatorOptions = { chip };
  const result: MockUrlOptions = { chip, emulator, boot: true };
  const flashFigures: FlashTimingOptions = {};

  for (const [rawKey, value] of url.searchParams) {
    const key = rawKey.toLowerCase();
    if (!KNOWN.has(key)) throw bad(url, `unknown option "${rawKey}"`);
    switch (key) {
      case 'fw':
        try {
          findPreset(chip, value);
        } catch (error) {
          throw bad(url, (error as Error).message);
        }
        emulator.firmware = value;
        break;
      case 'fill':
        if (!(FLASH_FILLS as readonly string[]).includes(value)) throw bad(url, `fill must be one of ${FLASH_FILLS.join(', ')}`);
        emulator.fill = value as FlashFill;
        break;
      case 'mfg':
        // Only v3.1+ presets have mfg_nvs; on legacy ones the option is accepted and has no effect.
        if (!(MFG_CONTENTS as readonly string[]).includes(value)) throw bad(url, `mfg must be one of ${MFG_CONTENTS.join(', ')}`);
        emulator.mfg = value as MfgContent;
        break;
      case 'seed':
        emulator.seed = Math.trunc(number(url, 'seed', value, 0));
        break;
      case 'timing':
        Object.assign(emulator, parseTiming(url, value));
        break;
      case 'id':
        if (value === '') throw bad(url, 'id must not be empty');
        result.id = value;
        break;
      case 'state':
        if (value === '') throw bad(url, 'state must name a file');
        result.statePath = value;
        break;
      case 'boot':
        if (value !== '0' && value !== '1') throw bad(url, 'boot must be 0 or 1');
        result.boot = value === '1';
        break;
      case 'baud':
        emulator.baudRate = number(url, 'baud', value, 80);
        break;
      case 'bootms':
        emulator.bootDelayMs = number(url, 'bootMs', value, 0);
        break;
      case 'erasems':
        flashFigures.sectorEraseMs = number(url, rawKey, value, 0);
        break;
      case 'part': {
        // part=<label>:<type>:<subtype>:<offset>:<size>, numbers decimal or 0x hex; repeatable.
        const fields = value.split(':');
        const numbers = fields.slice(1).map((f) => Number(f));
        if (fields.length !== 5 || !fields[0] || numbers.some((n) => !Number.isSafeInteger(n) || n < 0)) {
          throw bad(url, `part must be <label>:<type>:<subtype>:<offset>:<size>, got "${value}"`);
        }
        const [type, subtype, offset, size] = numbers as [number, number, number, number];
        emulator.extraPartitions = [...(emulator.extraPartitions ?? []), { label: fields[0], type, subtype, offset, size }];
        break;
      }
      case 'pagems':
        flashFigures.pageProgramMs = number(url, rawKey, value, 0);
        break;
      case 'faults':
        // faults=drop:0.001,busy:0.01,reset~SYSFLASH=1@2 (README "Faults"); faultSeed= seeds them.
        try {
          emulator.faults = { ...parseFaultSpec(value), seed: emulator.faults?.seed };
        } catch (error) {
          throw bad(url, (error as Error).message);
        }
        break;
      case 'mac':
      case 'stamac':
        if (!parseMac(value)) throw bad(url, `${rawKey} must be a MAC address like aa:bb:cc:dd:ee:ff, got "${value}"`);
        if (key === 'mac') emulator.mac = value;
        else emulator.stationMac = value;
        break;
      case 'faultseed':
        emulator.faults = { ...emulator.faults, seed: Math.trunc(number(url, rawKey, value, 0)) };
        break;
    }
  }
  // A unit's default MAC comes from its name: the registry id, or the chip.
  if (result.id !== undefined) emulator.name = result.id;
  // eraseMs/pageMs only tune flash timing; timing=flash switches it on.
  if (emulator.flashTiming) emulator.flashTiming = flashFigures;
  return result;
}

/** `line`, `flash`, `line,flash`, or `off`/`none`. */
export function parseTiming(url: URL | string, value: string): Pick<EspAtEmulatorOptions, 'lineTiming' | 'flashTiming'> {
  const parts = value.split(',').map((s) => s.trim()).filter(Boolean);
  const out: Pick<EspAtEmulatorOptions, 'lineTiming' | 'flashTiming'> = { lineTiming: false };
  for (const part of parts) {
    if (part === 'line') out.lineTiming = true;
    else if (part === 'flash') out.flashTiming = true;
    else if (part !== 'off' && part !== 'none') throw bad(url, `timing must be a list of line, flash (or off)`);
  }
  return out;
}
