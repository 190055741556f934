/**
 * Public API of the ESP-AT mock device. The application wires `createMockTransport` in for
 * `mock://` URLs; tests use the emulator, the registry and the servers directly.
 */
export { EspAtEmulator, MAX_COMMAND_LINE_BYTES } from './emulator.js';
export type { EmulatorEvents, EmulatorState, MfgStatus } from './emulator.js';
export type { EspAtEmulatorOptions, FlashTimingOptions, StartupMode } from './emulator-options.js';
export {
  DEFAULT_BAUD_RATE,
  DEFAULT_BOOT_DELAY_MS,
  DEFAULT_PAGE_PROGRAM_MS,
  DEFAULT_SECTOR_ERASE_MS,
} from './emulator-options.js';
export type {
  CommandContext,
  CommandDefinition,
  CommandFamily,
  CommandResult,
  DeviceModel,
  EmulatorStats,
  RawReceiveOptions,
  UartConfig,
} from './commands/command-types.js';
export {
  basicCommands,
  sysflashCommands,
  sysmfgCommands,
  uartCommands,
  commandFamiliesFor,
  MFG_MAX_NAME_LENGTH,
  MFG_MAX_VALUE_LENGTH,
} from './commands/index.js';
export { MfgStore, MfgType, decodeNumber, encodeNumber, truncateNumber } from './mfg-store.js';
export type { MfgItem, MfgKeyInfo, MfgNumericType, MfgValueType } from './mfg-store.js';
export { MFG_CONTENTS, defaultMfgContent } from './mfg-defaults.js';
export type { MfgContent, MfgSeedEntry } from './mfg-defaults.js';
export type { CommandFault, FaultInjector, ResetFault } from './fault-injection.js';
export * from './faults/index.js';
export { CHIP_NAMES, FIRMWARE_PRESETS, findPreset, isChipName } from './firmware-presets.js';
export { formatMac, macForName, parseMac, UnitIdentity } from './unit-identity.js';
export type { ChipName, FirmwarePreset } from './firmware-presets.js';
export * from './partition-tables.js';
export { FlashInterrupted, NorFlash, PAGE_SIZE, SECTOR_SIZE } from './nor-flash.js';
export type { FlashCut, FlashOperation } from './nor-flash.js';
export type { FlashFill } from './flash-fill.js';
export { createEmulator, emulatorIds, getEmulator, removeEmulator, resetEmulators } from './emulator-registry.js';
export { createMockTransport, MockTransport } from './in-process-transport.js';
export type { MockTransportOptions, Transport } from './in-process-transport.js';
export { parseMockUrl } from './mock-url.js';
export type { MockUrlOptions } from './mock-url.js';
export { FlashStateFile } from './flash-state-file.js';
export { MockDeviceError } from './errors.js';
export type { MockDeviceErrorCode } from './errors.js';
export { serveTcp } from './tcp-server.js';
export type { ServeTcpOptions, TcpServerHandle } from './tcp-server.js';
export { servePty } from './pty-server.js';
export type { PtyServerHandle, ServePtyOptions } from './pty-server.js';
export { ErrorCode, MFG_WRITE_PROMPT, WRITE_PROMPT, errorCodeLine } from './result-codes.js';
