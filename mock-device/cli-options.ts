/**
 * Command-line parsing for the standalone mock device (node:util parseArgs, no dependencies).
 * Kept apart from cli.ts so it can be tested without starting servers.
 */
import { parseArgs } from 'node:util';
import type { EspAtEmulatorOptions } from './emulator-options.js';
import { FLASH_FILLS, type FlashFill } from './flash-fill.js';
import { CHIP_NAMES, findPreset, isChipName } from './firmware-presets.js';
import { MFG_CONTENTS, type MfgContent } from './mfg-defaults.js';
import { parseFaultSpec } from './faults/fault-options.js';
import { parseTiming } from './mock-url.js';
import { parseMac } from './unit-identity.js';

export const USAGE = `Usage: npm run mock-device -- [options] (--pty | --tcp [PORT])

Emulates an ESP-AT module (legacy AT+SYSFLASH firmware, or v3.1+ with mfg_nvs and AT+SYSMFG)
on a pseudo-terminal or a TCP port.

Options:
  --chip NAME      ${CHIP_NAMES.join(' | ')} (default esp32)
  --fw VERSION     firmware preset of the chip (default: the chip's, e.g. 2.4.0.0;
                   3.2.0.0 / 4.1.1.0 (esp32, esp32c3), 3.1.0.0 / 4.1.1.0 (esp32c2*) = mfg_nvs)
  --mfg CONTENT    initial mfg_nvs of a v3.1+ preset: default (factory keys) | empty
  --fill KIND      initial flash: ff (erased) | garbage (default ff)
  --seed N         seed for --fill garbage (default 1)
  --timing LIST    line,flash | line | flash | off (default off)
  --baud N         the module's UART rate after boot (default 115200)
  --state FILE     load the flash image from FILE and keep it saved there
  --faults SPEC    inject faults, e.g. drop:0.001,busy:0.01,reset~SYSFLASH=1@2 (README "Faults")
  --fault-seed N   seed of the fault streams (default 1)
  --mac MAC        the unit's factory eFuse MAC (default: derived from --name)
  --station-mac MAC what AT+CIPSTAMAC? answers (default: the eFuse MAC)
  --name NAME      the unit's name, from which its default MAC is derived (default: the chip)
  --pty            serve on a pseudo-terminal; prints its path as the first line
  --tcp [PORT]     serve on 127.0.0.1:PORT (default: a free port); prints tcp://127.0.0.1:PORT
  -h, --help       show this help

Runs until SIGINT/SIGTERM.`;

export type CliCommand =
  | { kind: 'help' }
  | { kind: 'error'; message: string }
  | {
      kind: 'serve';
      mode: 'pty' | 'tcp';
      tcpPort: number;
      emulator: EspAtEmulatorOptions;
      statePath?: string;
    };

export function parseCliArgs(argv: readonly string[]): CliCommand {
  // `--tcp` takes an optional port, which parseArgs cannot express: split `--tcp=N` and read a
  // following bare number as the port.
  const args = argv.flatMap((a) => (a.startsWith('--tcp=') ? ['--tcp', a.slice(6)] : [a]));
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        chip: { type: 'string' },
        fw: { type: 'string' },
        mfg: { type: 'string' },
        fill: { type: 'string' },
        seed: { type: 'string' },
        timing: { type: 'string' },
        baud: { type: 'string' },
        state: { type: 'string' },
        faults: { type: 'string' },
        'fault-seed': { type: 'string' },
        mac: { type: 'string' },
        'station-mac': { type: 'string' },
        name: { type: 'string' },
        pty: { type: 'boolean' },
        tcp: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    return { kind: 'error', message: (error as Error).message };
  }
  const { values, positionals } = parsed;
  if (values.help) return { kind: 'help' };

  let tcpPort = 0;
  if (positionals.length > 0) {
    const port = Number(positionals[0]);
    if (!values.tcp || positionals.length > 1 || !Number.isInteger(port) || port < 0 || port > 65535) {
      return { kind: 'error', message: `unexpected argument "${positionals.join(' ')}"` };
    }
    tcpPort = port;
  }
  if (values.pty === values.tcp) return { kind: 'error', message: 'choose exactly one of --pty and --tcp' };

  const chip = values.chip ?? 'esp32';
  if (!isChipName(chip)) return { kind: 'error', message: `unknown chip "${chip}" (known: ${CHIP_NAMES.join(', ')})` };
  const emulator: EspAtEmulatorOptions = { chip };
  try {
    findPreset(chip, values.fw);
  } catch (error) {
    return { kind: 'error', message: (error as Error).message };
  }
  if (values.fw !== undefined) emulator.firmware = values.fw;
  if (values.mfg !== undefined) {
    if (!(MFG_CONTENTS as readonly string[]).includes(values.mfg)) {
      return { kind: 'error', message: `--mfg must be one of ${MFG_CONTENTS.join(', ')}` };
    }
    emulator.mfg = values.mfg as MfgContent;
  }
  if (values.fill !== undefined) {
    if (!(FLASH_FILLS as readonly string[]).includes(values.fill)) {
      return { kind: 'error', message: `--fill must be one of ${FLASH_FILLS.join(', ')}` };
    }
    emulator.fill = values.fill as FlashFill;
  }
  if (values.seed !== undefined) {
    const seed = Number(values.seed);
    if (!Number.isInteger(seed) || seed < 0) return { kind: 'error', message: '--seed must be a non-negative integer' };
    emulator.seed = seed;
  }
  if (values.timing !== undefined) {
    try {
      Object.assign(emulator, parseTiming('--timing', values.timing));
    } catch (error) {
      return { kind: 'error', message: (error as Error).message };
    }
  }
  if (values.baud !== undefined) {
    const baud = Number(values.baud);
    if (!Number.isInteger(baud) || baud < 80) return { kind: 'error', message: '--baud must be an integer ≥ 80' };
    emulator.baudRate = baud;
  }
  if (values.faults !== undefined) {
    try {
      emulator.faults = parseFaultSpec(values.faults);
    } catch (error) {
      return { kind: 'error', message: `--faults: ${(error as Error).message}` };
    }
  }
  if (values['fault-seed'] !== undefined) {
    const seed = Number(values['fault-seed']);
    if (!Number.isInteger(seed) || seed < 0) return { kind: 'error', message: '--fault-seed must be a non-negative integer' };
    emulator.faults = { ...emulator.faults, seed };
  }
  for (const [option, value] of [['--mac', values.mac], ['--station-mac', values['station-mac']]] as const) {
    if (value !== undefined && !parseMac(value)) return { kind: 'error', message: `${option} must be a MAC address like aa:bb:cc:dd:ee:ff` };
  }
  if (values.mac !== undefined) emulator.mac = values.mac;
  if (values['station-mac'] !== undefined) emulator.stationMac = values['station-mac'];
  if (values.name !== undefined) emulator.name = values.name;
  const command: CliCommand = { kind: 'serve', mode: values.pty ? 'pty' : 'tcp', tcpPort, emulator };
  if (values.state !== undefined) command.statePath = values.state;
  return command;
}
