/**
 * Command families per firmware personality. Legacy (≤ v3.0) firmware has the basic commands,
 * AT+UART_CUR and AT+SYSFLASH; a v3.1+ personality adds its families (e.g. AT+SYSMFG) here.
 */
import type { FirmwarePreset } from '../firmware-presets.js';
import { basicCommands } from './basic-commands.js';
import type { CommandDefinition, CommandFamily } from './command-types.js';
import { sysflashCommands } from './sysflash-command.js';
import { uartCommands } from './uart-commands.js';

export { basicCommands } from './basic-commands.js';
export { sysflashCommands } from './sysflash-command.js';
export { uartCommands } from './uart-commands.js';
export type * from './command-types.js';

/** The command families a preset's firmware has. */
export function commandFamiliesFor(_preset: FirmwarePreset): CommandFamily[] {
  return [basicCommands, uartCommands, sysflashCommands];
}

/** Name → definition; later families override earlier ones with the same name. */
export function buildCommandTable(families: readonly CommandFamily[]): Map<string, CommandDefinition> {
  const table = new Map<string, CommandDefinition>();
  for (const family of families) for (const def of family) table.set(def.name, def);
  return table;
}
