/**
 * Command families per firmware personality. Legacy (≤ v3.0) firmware has the basic commands,
 * AT+UART_CUR and AT+SYSFLASH; the v3.1+ (mfg_nvs) personality adds AT+SYSMFG.
 */
import type { FirmwarePreset } from '../firmware-presets.js';
import { basicCommands } from './basic-commands.js';
import type { CommandDefinition, CommandFamily } from './command-types.js';
import { stationMacCommands, sysregCommands } from './identity-commands.js';
import { sysflashCommands } from './sysflash-command.js';
import { sysmfgCommands } from './sysmfg-command.js';
import { uartCommands } from './uart-commands.js';

export { basicCommands } from './basic-commands.js';
export { stationMacCommands, sysregCommands } from './identity-commands.js';
export { sysflashCommands } from './sysflash-command.js';
export { MFG_MAX_NAME_LENGTH, MFG_MAX_VALUE_LENGTH, sysmfgCommands } from './sysmfg-command.js';
export { uartCommands } from './uart-commands.js';
export type * from './command-types.js';

/** The command families a preset's firmware has. */
export function commandFamiliesFor(preset: FirmwarePreset): CommandFamily[] {
  const families = [basicCommands, uartCommands, sysflashCommands, stationMacCommands];
  // AT+SYSREG is documented from ESP-AT 2.2; the ESP8266 builds here do not have it.
  if (!preset.chip.startsWith('esp8266')) families.push(sysregCommands);
  if (preset.mfgNvs) families.push(sysmfgCommands);
  return families;
}

/** Name → definition; later families override earlier ones with the same name. */
export function buildCommandTable(families: readonly CommandFamily[]): Map<string, CommandDefinition> {
  const table = new Map<string, CommandDefinition>();
  for (const family of families) for (const def of family) table.set(def.name, def);
  return table;
}
