/**
 * The contract between the emulator core and the command families. A family is a list of
 * command definitions; the emulator builds its dispatch table from the families of its firmware
 * personality (plus any extra ones passed in options), so a new command (as AT+SYSMFG for the
 * v3.1+ personality) is a new file, not an edit of the core.
 */
import type { AtArguments } from '../at-arguments.js';
import type { FirmwarePreset } from '../firmware-presets.js';
import type { MfgStore } from '../mfg-store.js';
import type { NorFlash } from '../nor-flash.js';
import type { PartitionInfo } from '../partition-tables.js';
import type { UnitIdentity } from '../unit-identity.js';

export type CommandResult = 'OK' | 'ERROR';

/** RAM settings of the UART, as set by AT+UART_CUR. */
export interface UartConfig {
  readonly baudRate: number;
  readonly dataBits: number;
  /** 1 = 1 bit, 2 = 1.5 bits, 3 = 2 bits (ESP-AT encoding). */
  readonly stopBits: number;
  /** 0 none, 1 odd, 2 even. */
  readonly parity: number;
  /** 0 none, 1 RTS, 2 CTS, 3 both. */
  readonly flowControl: number;
}

/** Byte and command counters; reset with `emulator.resetStats()`. */
export interface EmulatorStats {
  /** Command lines dispatched (empty and dropped lines excluded). */
  commands: number;
  /** Per command name (`""` for bare AT, `"+SYSFLASH"`...). */
  commandsByName: Record<string, number>;
  /** `busy p...` replies sent. */
  busyReplies: number;
  /** Bytes the receiver got from the host / bytes sent to the host. */
  bytesReceived: number;
  bytesSent: number;
  /** Payload bytes programmed into flash by successful writes. */
  flashBytesWritten: number;
  /** Bytes erased by successful erases. */
  flashBytesErased: number;
  /** Payload bytes returned by successful reads. */
  flashBytesRead: number;
  /** Boots after power-on, AT+RST, forced restarts and hardware resets. */
  boots: number;
  /** Successful AT+SYSMFG writes (op 2), whether or not the stored value changed. */
  mfgWrites: number;
  /** Value bytes of those writes (1/2/4 for numbers, `<len>` for strings/blobs). */
  mfgBytesWritten: number;
  /** Successful AT+SYSMFG erases (op 0), of a key or a namespace. */
  mfgErases: number;
  /** Successful AT+SYSMFG reads of one key. */
  mfgReads: number;
  /** SYSMFG writes/erases that actually changed the store (an identical rewrite does not). */
  mfgChanges: number;
}

/** What the emulator exposes to command handlers. */
export interface DeviceModel {
  readonly preset: FirmwarePreset;
  readonly flash: NorFlash;
  echo: boolean;
  syslog: boolean;
  readonly uartConfig: UartConfig;
  readonly stats: EmulatorStats;
  /** The unit's eFuse and station MACs (AT+SYSREG, AT+CIPSTAMAC). */
  readonly identity: UnitIdentity;
  /** Milliseconds a flash erase / program takes, 0 when flash timing is off. */
  eraseTimeMs(address: number, length: number): number;
  programTimeMs(address: number, length: number): number;
  findPartition(label: string): PartitionInfo | undefined;
  /** Switch the module's UART (emits 'baudrate'). Call it via `afterResult`. */
  applyUartConfig(config: UartConfig): void;
  /** Software restart (as AT+RST). Call it via `afterResult`. */
  restart(): void;
  /** Tell state-file listeners the flash changed. */
  notifyFlashChanged(): void;
  /**
   * The mfg_nvs key-value store as the flash holds it now (a fresh copy). Undefined when the
   * firmware has no mfg_nvs or the partition does not hold a valid store (NVS init "failed").
   */
  loadMfgStore(): MfgStore | undefined;
  /** Persist a store into mfg_nvs (emits 'flashchange'). False when it does not fit (NVS full). */
  saveMfgStore(store: MfgStore): boolean;
}

/** What happens to bytes beyond the expected raw-data length in the last chunk. */
export interface RawReceiveOptions {
  /**
   * `parse` (default, AT+SYSFLASH): kept and fed to the command-line receiver after the result.
   * `busy` (AT+SYSMFG): handed back while the command still runs → `busy p...`, discarded.
   */
  leftover?: 'parse' | 'busy';
}

/** Per-command services; everything is cancelled (silently) if the module restarts. */
export interface CommandContext {
  readonly device: DeviceModel;
  /** The full command line as received, without CR LF. */
  readonly line: string;
  /** Put bytes on the wire (in order with everything else). */
  print(data: string | Uint8Array): void;
  /** Print `ERR CODE:0x%08x\r\n` if SYSLOG is on. */
  printErrorCode(code: number): void;
  /**
   * Switch the receiver to raw-data mode, then print `prompt`, then wait (forever) for exactly
   * `length` bytes. Bytes beyond `length` in the last chunk are parsed as the next command after
   * the result, or answered `busy p...` with `{ leftover: 'busy' }`.
   */
  receiveRaw(length: number, prompt: string, options?: RawReceiveOptions): Promise<Buffer>;
  /** Wait `ms` (flash time). The command keeps the module busy meanwhile. */
  sleep(ms: number): Promise<void>;
  /** Run `action` once the final result code has been sent. */
  afterResult(action: () => void): void;
}

export type CommandHandler = (ctx: CommandContext) => CommandResult | Promise<CommandResult>;
export type SetCommandHandler = (ctx: CommandContext, args: AtArguments) => CommandResult | Promise<CommandResult>;

/** One AT command; a missing form answers ERROR (unsupported). */
export interface CommandDefinition {
  /** Text after "AT": `""` for AT, `"E0"`, `"+SYSFLASH"`. */
  readonly name: string;
  /** `AT<name>` */
  readonly execute?: CommandHandler;
  /** `AT<name>?` */
  readonly query?: CommandHandler;
  /** `AT<name>=?` */
  readonly test?: CommandHandler;
  /** `AT<name>=<params>` */
  readonly set?: SetCommandHandler;
}

export type CommandFamily = readonly CommandDefinition[];
