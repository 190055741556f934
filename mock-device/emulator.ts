/**
 * EspAtEmulator: an ESP-AT module (legacy SYSFLASH firmware ≤ v3.0, or v3.1+ with mfg_nvs and
 * AT+SYSMFG) as seen from its AT UART, written from the protocol document
 * (docs/esp-at-protocol.md §1–§4, §6, §9), not from the host code.
 *
 * Bytes go in through `receive()` and come out as `'data'` events. The core here owns the
 * receiver state machine (line mode / busy / raw data), echo, result codes and restarts; the
 * commands themselves live in `commands/`, one file per family.
 */
import { EventEmitter } from 'node:events';
import { AtArguments, splitArguments } from './at-arguments.js';
import { parseCommandLine } from './command-line.js';
import { buildCommandTable, commandFamiliesFor } from './commands/index.js';
import type {
  CommandContext,
  CommandDefinition,
  CommandResult,
  DeviceModel,
  EmulatorStats,
  RawReceiveOptions,
  UartConfig,
} from './commands/command-types.js';
import {
  DEFAULT_BAUD_RATE,
  DEFAULT_BOOT_DELAY_MS,
  DEFAULT_PAGE_PROGRAM_MS,
  DEFAULT_SECTOR_ERASE_MS,
  type EspAtEmulatorOptions,
} from './emulator-options.js';
import type { CommandFault, FaultInjector, ResetFault } from './fault-injection.js';
import type { FaultOptions } from './faults/fault-options.js';
import { RandomFaults } from './faults/random-faults.js';
import { findPreset, type ChipName, type FirmwarePreset } from './firmware-presets.js';
import { defaultMfgContent, type MfgContent } from './mfg-defaults.js';
import {
  MfgStore,
  encodeNumber,
  isMfgValueType,
  isNumericType,
  type MfgItem,
  type MfgKeyInfo,
  type MfgValueType,
} from './mfg-store.js';
import { FlashInterrupted, NorFlash, pagesSpanned, sectorsSpanned } from './nor-flash.js';
import { MFG_NVS_LABEL, tableExtent, type PartitionInfo } from './partition-tables.js';
import {
  BUSY_LINE,
  ErrorCode,
  FORCE_RESTART_LINE,
  READY_LINE,
  RESULT_ERROR,
  RESULT_OK,
  errorCodeLine,
} from './result-codes.js';
import { UartRx } from './uart-rx.js';
import { UartTx } from './uart-tx.js';
import { unitIdentityFromOptions, type UnitIdentity } from './unit-identity.js';

/**
 * Receiver state:
 * - `off`: unpowered (input is lost);
 * - `booting`: between reset and `ready` (input is lost);
 * - `command`: collecting a command line;
 * - `busy`: a command runs; every input chunk is answered `busy p...`;
 * - `raw`: a command waits for raw data after its prompt.
 */
export type EmulatorState = 'off' | 'booting' | 'command' | 'busy' | 'raw';

export interface EmulatorEvents {
  /** Bytes on the module's TX line. */
  data: [chunk: Buffer];
  /** The module's UART switched to a new rate (AT+UART_CUR, or back to the default on restart). */
  baudrate: [baudRate: number];
  /** The module (re)started: power-on, AT+RST, forced restart or hardware reset. */
  restart: [];
  /** The module lost power / its cable: transports attached to it must disconnect. */
  unplug: [];
  /** Flash content changed (erase, write, writeRaw, loadFlashImage). */
  flashchange: [];
  /** A command line (without CR LF) is about to run. */
  command: [line: string];
}

/** Longest accepted command line, CR LF included; longer lines are dropped. */
export const MAX_COMMAND_LINE_BYTES = 256;

const CR = 0x0d;
const LF = 0x0a;
const FORCE_RESTART_TRIGGER = Buffer.from('AT+RST\r\n', 'latin1');

function newStats(): EmulatorStats {
  return {
    commands: 0,
    commandsByName: {},
    busyReplies: 0,
    bytesReceived: 0,
    bytesSent: 0,
    flashBytesWritten: 0,
    flashBytesErased: 0,
    flashBytesRead: 0,
    boots: 0,
    mfgWrites: 0,
    mfgBytesWritten: 0,
    mfgErases: 0,
    mfgReads: 0,
    mfgChanges: 0,
  };
}

function defaultUart(baudRate: number): UartConfig {
  return { baudRate, dataBits: 8, stopBits: 1, parity: 0, flowControl: 0 };
}

interface RawReception {
  needed: number;
  received: number;
  parts: Buffer[];
  leftover: 'parse' | 'busy';
  resolve: (data: Buffer) => void;
  /** Fault: reset once more than this many bytes have arrived. */
  resetAfter?: number;
}

/** Whether mfg_nvs holds a usable store: `none` = legacy firmware without mfg_nvs. */
export type MfgStatus = 'ok' | 'corrupt' | 'none';

export class EspAtEmulator extends EventEmitter<EmulatorEvents> implements DeviceModel {
  readonly preset: FirmwarePreset;
  readonly flash: NorFlash;
  /** Echo flag (ATE0/ATE1). RAM only: on after every boot. */
  echo = true;
  /** AT+SYSLOG flag. RAM only: off after every boot. */
  syslog = false;
  readonly stats: EmulatorStats = newStats();
  readonly identity: UnitIdentity;

  private readonly commands: Map<string, CommandDefinition>;
  private readonly bootUart: UartConfig;
  private readonly bootDelayMs: number;
  private readonly flashTiming: { sectorEraseMs: number; pageProgramMs: number } | undefined;
  private readonly tx: UartTx;
  private readonly rx: UartRx;
  private uart: UartConfig;
  private currentState: EmulatorState = 'off';
  /** Bumped by every restart/power loss; continuations of older commands see it and stop. */
  private epoch = 0;
  private line: number[] = [];
  private lineOverflow = false;
  private previousByte = -1;
  private raw: RawReception | undefined;
  private leftover: Buffer | undefined;
  private readonly commandTimers = new Set<NodeJS.Timeout>();
  private bootTimer: NodeJS.Timeout | undefined;
  private faults: FaultInjector | undefined;
  /** A reset fault armed for the running command (cleared by any restart). */
  private pendingReset: ResetFault | undefined;
  private disposed = false;

  constructor(options: EspAtEmulatorOptions = {}) {
    super();
    this.preset = withExtraPartitions(findPreset(options.chip ?? 'esp32', options.firmware), options.extraPartitions ?? []);
    this.flash = new NorFlash(tableExtent(this.preset.partitions), options.fill ?? 'ff', options.seed ?? 1);
    this.identity = unitIdentityFromOptions(this.preset.chip, options);
    if (options.flashImage) this.flash.load(options.flashImage);
    else if (this.preset.mfgNvs) this.resetMfg(options.mfg ?? 'default');
    this.commands = buildCommandTable([...commandFamiliesFor(this.preset), ...(options.extraCommands ?? [])]);
    this.bootUart = defaultUart(options.baudRate ?? DEFAULT_BAUD_RATE);
    this.uart = this.bootUart;
    this.bootDelayMs = options.bootDelayMs ?? DEFAULT_BOOT_DELAY_MS;
    const ft = options.flashTiming;
    this.flashTiming = ft
      ? {
          sectorEraseMs: (ft === true ? undefined : ft.sectorEraseMs) ?? DEFAULT_SECTOR_ERASE_MS,
          pageProgramMs: (ft === true ? undefined : ft.pageProgramMs) ?? DEFAULT_PAGE_PROGRAM_MS,
        }
      : undefined;
    const lineTiming = options.lineTiming ?? false;
    this.tx = new UartTx((chunk) => this.transmit(chunk), () => this.uart.baudRate, lineTiming);
    this.rx = new UartRx((chunk) => this.onWireChunk(chunk), () => this.uart.baudRate, lineTiming);
    this.flash.interruptHook = (operation, address, length) => this.pendingReset?.flashCut?.(operation, address, length);
    if (options.faults) this.setFaults(options.faults);

    const startup = options.startup ?? 'boot';
    if (startup !== 'off') this.powerOn({ announce: startup === 'boot' });
  }

  get chip(): ChipName {
    return this.preset.chip;
  }

  get firmware(): string {
    return this.preset.firmware;
  }

  get state(): EmulatorState {
    return this.currentState;
  }

  get powered(): boolean {
    return this.currentState !== 'off';
  }

  /** The module's current UART rate. */
  get baudRate(): number {
    return this.uart.baudRate;
  }

  get uartConfig(): UartConfig {
    return this.uart;
  }

  /** Nothing queued either way, no command running, not booting (waiting for raw data counts as idle). */
  get isIdle(): boolean {
    return (
      this.rx.idle &&
      this.tx.idle &&
      this.bootTimer === undefined &&
      this.currentState !== 'busy' &&
      this.currentState !== 'booting'
    );
  }

  // ---------------------------------------------------------------- wire

  /** Bytes from the host (one call = one UART read chunk). Never emits synchronously. */
  receive(chunk: Uint8Array): void {
    if (this.disposed || this.currentState === 'off' || chunk.length === 0) return;
    this.rx.push(chunk);
  }

  /** Resolves once the emulator is idle (see `isIdle`). */
  async whenIdle(): Promise<void> {
    while (!this.isIdle) await new Promise((resolve) => setTimeout(resolve, 1));
  }

  setFaultInjector(injector: FaultInjector | undefined): void {
    this.faults = injector;
  }

  /** The installed fault injector (a RandomFaults when set from `faults` options). */
  get faultInjector(): FaultInjector | undefined {
    return this.faults;
  }

  /** Install seeded random/scheduled faults (mock-device/faults); undefined removes them. */
  setFaults(options: FaultOptions | undefined): RandomFaults | undefined {
    const faults = options ? new RandomFaults(options) : undefined;
    this.setFaultInjector(faults);
    return faults;
  }

  // ---------------------------------------------------------------- power

  /**
   * Apply power. With `announce` (default) the module boots and prints `ready` after the boot
   * delay; without, it is up at once and silent (as if it had booted long ago). No-op if powered.
   */
  powerOn(options: { announce?: boolean } = {}): void {
    if (this.disposed || this.powered) return;
    if (options.announce ?? true) {
      this.restart();
      return;
    }
    this.resetRamState();
    this.stats.boots++;
    this.currentState = 'command';
  }

  /** Hardware reset (EN pin): pending output is lost, the module reboots and prints `ready`. */
  reset(): void {
    if (this.disposed || !this.powered) return;
    this.tx.clear();
    this.rx.clear();
    this.restart();
  }

  /** Pull the plug: power off, pending bytes lost, transports see a disconnect ('unplug'). */
  unplug(): void {
    if (this.disposed || !this.powered) return;
    this.abortCommand();
    this.tx.clear();
    this.rx.clear();
    this.clearBootTimer();
    this.currentState = 'off';
    this.emit('unplug');
  }

  /** Stop all timers; the emulator is dead afterwards. */
  dispose(): void {
    if (this.disposed) return;
    this.abortCommand();
    this.tx.clear();
    this.rx.clear();
    this.clearBootTimer();
    this.currentState = 'off';
    this.disposed = true;
  }

  // ---------------------------------------------------------------- flash access for tests

  partitions(): readonly PartitionInfo[] {
    return this.preset.partitions;
  }

  findPartition(label: string): PartitionInfo | undefined {
    return this.preset.partitions.find((p) => p.label === label);
  }

  /** A copy of a whole partition. Throws RangeError for an unknown label. */
  readPartition(label: string): Buffer {
    const p = this.requirePartition(label);
    return this.flash.read(p.offset, p.size);
  }

  /** Set partition bytes directly (plain overwrite, no NOR rules, no command). */
  writeRaw(label: string, offset: number, bytes: Uint8Array): void {
    const p = this.requirePartition(label);
    if (offset < 0 || offset + bytes.length > p.size) {
      throw new RangeError(`${label}: ${offset}+${bytes.length} exceeds partition size ${p.size}`);
    }
    this.flash.overwrite(p.offset + offset, bytes);
    this.notifyFlashChanged();
  }

  /** A copy of the whole flash image (address 0 … end of the last partition). */
  flashImage(): Buffer {
    return this.flash.snapshot();
  }

  loadFlashImage(image: Uint8Array): void {
    this.flash.load(image);
    this.notifyFlashChanged();
  }

  resetStats(): void {
    Object.assign(this.stats, newStats());
  }

  // ---------------------------------------------------------------- mfg_nvs access for tests

  /** `ok`: mfg_nvs holds a valid store; `corrupt`: it does not (SYSMFG answers ERROR); `none`: legacy firmware. */
  get mfgStatus(): MfgStatus {
    if (!this.preset.mfgNvs) return 'none';
    return this.loadMfgStore() ? 'ok' : 'corrupt';
  }

  /** Namespaces holding at least one key, in the order `AT+SYSMFG?` lists them. */
  mfgNamespaces(): string[] {
    return this.requireMfgStore().namespaces();
  }

  /** Keys (with namespace and type) of one namespace, or of all namespaces. */
  mfgKeys(namespace?: string): MfgKeyInfo[] {
    return this.requireMfgStore().keys(namespace);
  }

  /** One stored value (bytes, plus `number` for types 1–6 / `text` for 7–8), or undefined. */
  readMfg(namespace: string, key: string): MfgItem | undefined {
    return this.requireMfgStore().get(namespace, key);
  }

  /**
   * Store a value directly, without the AT+SYSMFG rules (no name/length limits, NUL allowed).
   * `value`: a number for types 1–6 (truncated to the width), a string (latin1) or bytes for
   * 7/8, or the exact little-endian bytes of a numeric type. Throws RangeError if it cannot be stored.
   */
  writeMfgRaw(namespace: string, key: string, type: MfgValueType, value: number | string | Uint8Array): void {
    if (!isMfgValueType(type)) throw new RangeError(`type must be 1…8, got ${String(type)}`);
    let bytes: Buffer;
    if (typeof value === 'number') {
      if (!isNumericType(type)) throw new RangeError(`type ${type} takes a string or bytes, not a number`);
      bytes = encodeNumber(type, value);
    } else {
      bytes = typeof value === 'string' ? Buffer.from(value, 'latin1') : Buffer.from(value);
    }
    const store = this.requireMfgStore();
    store.set(namespace, key, type, bytes);
    if (!this.saveMfgStore(store)) throw new RangeError(`mfg_nvs is full: cannot store ${namespace}/${key}`);
  }

  /** Remove one key (returns whether it existed), or a whole namespace when `key` is omitted. */
  eraseMfgRaw(namespace: string, key?: string): boolean {
    const store = this.requireMfgStore();
    const removed = key === undefined ? store.eraseNamespace(namespace) > 0 : store.eraseKey(namespace, key);
    if (removed) this.saveMfgStore(store);
    return removed;
  }

  /** Rewrite mfg_nvs with the factory content (`default`) or no keys (`empty`). */
  resetMfg(content: MfgContent = 'default'): void {
    this.requireMfgPartition();
    const store = new MfgStore();
    if (content === 'default') {
      for (const e of defaultMfgContent(this.chip)) store.set(e.namespace, e.key, e.type, e.bytes);
    }
    if (!this.saveMfgStore(store)) throw new RangeError(`default mfg content does not fit ${this.chip} mfg_nvs`);
  }

  // ---------------------------------------------------------------- DeviceModel (for commands)

  eraseTimeMs(address: number, length: number): number {
    return this.flashTiming ? sectorsSpanned(address, length) * this.flashTiming.sectorEraseMs : 0;
  }

  programTimeMs(address: number, length: number): number {
    return this.flashTiming ? pagesSpanned(address, length) * this.flashTiming.pageProgramMs : 0;
  }

  applyUartConfig(config: UartConfig): void {
    const changed = config.baudRate !== this.uart.baudRate;
    this.uart = { ...config };
    if (changed) this.emit('baudrate', config.baudRate);
  }

  /** Software restart: command aborted, RAM settings lost, `ready` after the boot delay. */
  restart(): void {
    if (this.disposed) return;
    this.abortCommand();
    this.clearBootTimer();
    this.resetRamState();
    this.currentState = 'booting';
    this.stats.boots++;
    this.emit('restart');
    this.bootTimer = setTimeout(() => {
      this.bootTimer = undefined;
      this.currentState = 'command';
      this.tx.send(READY_LINE);
    }, this.bootDelayMs);
  }

  notifyFlashChanged(): void {
    this.emit('flashchange');
  }

  loadMfgStore(): MfgStore | undefined {
    const p = this.preset.mfgNvs ? this.findPartition(MFG_NVS_LABEL) : undefined;
    if (!p) return undefined;
    return MfgStore.decode(this.flash.read(p.offset, p.size));
  }

  saveMfgStore(store: MfgStore): boolean {
    const p = this.requireMfgPartition();
    if (!store.fits(p.size)) return false;
    this.flash.overwrite(p.offset, store.encode(p.size));
    this.notifyFlashChanged();
    return true;
  }

  // ---------------------------------------------------------------- receiver state machine

  private onWireChunk(wireChunk: Buffer): void {
    const chunk = this.faults?.filterInput ? this.faults.filterInput(wireChunk) : wireChunk;
    if (!chunk || chunk.length === 0) return;
    this.stats.bytesReceived += chunk.length;
    this.handleChunk(chunk);
  }

  private handleChunk(chunk: Buffer): void {
    switch (this.currentState) {
      case 'off':
      case 'booting':
        return;
      case 'raw':
        this.feedRaw(chunk);
        return;
      case 'busy':
        this.replyBusy(chunk);
        return;
      case 'command':
        this.feedCommandLine(chunk);
        return;
    }
  }

  private feedCommandLine(chunk: Buffer): void {
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i]!;
      if (this.line.length < MAX_COMMAND_LINE_BYTES) this.line.push(byte);
      else this.lineOverflow = true;
      const terminated = byte === LF && this.previousByte === CR;
      this.previousByte = byte;
      if (!terminated) continue;
      const bytes = Buffer.from(this.line);
      const dropped = this.lineOverflow;
      this.line = [];
      this.lineOverflow = false;
      this.previousByte = -1;
      if (dropped) continue;
      if (this.startCommand(bytes)) {
        // The receiver is in "command running" state now: the rest of this chunk is busy input.
        const rest = chunk.subarray(i + 1);
        if (rest.length > 0) this.replyBusy(rest);
        return;
      }
    }
  }

  /** Echo and launch a command line (bytes include CR LF). False if nothing was started. */
  private startCommand(bytes: Buffer): boolean {
    if (this.echo) this.tx.send(bytes);
    const text = bytes.subarray(0, bytes.length - 2).toString('latin1');
    if (text.length === 0) return false;
    this.currentState = 'busy';
    const epoch = this.epoch;
    const fault = this.faults?.onCommand?.(text) ?? undefined;
    this.emit('command', text);
    if (fault?.kind === 'reset') this.pendingReset = fault;
    // Run on a later turn: input that arrives before the handler reaches its prompt is busy input.
    setImmediate(() => {
      if (epoch !== this.epoch) return;
      if (fault && fault.kind !== 'reset') this.misbehave(fault);
      else void this.runCommand(text, epoch);
    });
    return true;
  }

  /** A command fault instead of the command: busy / ERROR / nothing / unplugged. */
  private misbehave(fault: Exclude<CommandFault, ResetFault>): void {
    if (fault.kind === 'disconnect') {
      this.unplug();
      return;
    }
    this.currentState = 'command';
    if (fault.kind === 'error') this.tx.send(RESULT_ERROR);
    if (fault.kind === 'busy') {
      this.stats.busyReplies++;
      if (this.syslog) this.tx.send(errorCodeLine(ErrorCode.BUSY));
      this.tx.send(BUSY_LINE);
    }
  }

  private async runCommand(text: string, epoch: number): Promise<void> {
    const afterResult: Array<() => void> = [];
    const ctx = this.commandContext(text, epoch, afterResult);
    let result: CommandResult;
    try {
      result = await this.dispatch(ctx, text);
    } catch (error) {
      if (error instanceof FlashInterrupted && epoch === this.epoch) {
        // A reset fault cut the erase/program short: flash keeps what was done, the module reboots.
        this.notifyFlashChanged();
        this.reset();
        return;
      }
      // A handler bug must not wedge the emulator in "busy".
      result = 'ERROR';
    }
    if (epoch !== this.epoch) return;
    if (this.pendingReset) {
      // A reset fault that did not strike earlier: after the work, before the answer.
      this.reset();
      return;
    }
    // The receiver returns to command mode before the result is printed.
    this.currentState = 'command';
    this.tx.send(result === 'OK' ? RESULT_OK : RESULT_ERROR);
    for (const action of afterResult) {
      this.tx.then(() => {
        if (epoch === this.epoch) action();
      });
    }
    const leftover = this.leftover;
    this.leftover = undefined;
    if (leftover) this.handleChunk(leftover);
  }

  private async dispatch(ctx: CommandContext, text: string): Promise<CommandResult> {
    const parsed = parseCommandLine(text);
    if (parsed.kind === 'no-at') {
      ctx.printErrorCode(ErrorCode.NO_AT);
      return 'ERROR';
    }
    if (parsed.kind === 'malformed') return 'ERROR';
    this.stats.commands++;
    this.stats.commandsByName[parsed.name] = (this.stats.commandsByName[parsed.name] ?? 0) + 1;
    const definition = this.commands.get(parsed.name);
    if (parsed.form === 'set') {
      const tokens = splitArguments(parsed.argumentText);
      if (!definition?.set) {
        ctx.printErrorCode(ErrorCode.UNSUPPORTED_COMMAND);
        return 'ERROR';
      }
      if (!tokens) return 'ERROR';
      return definition.set(ctx, new AtArguments(tokens));
    }
    const handler = definition?.[parsed.form];
    if (!handler) {
      ctx.printErrorCode(ErrorCode.UNSUPPORTED_COMMAND);
      return 'ERROR';
    }
    return handler(ctx);
  }

  private commandContext(line: string, epoch: number, afterResult: Array<() => void>): CommandContext {
    const live = (): boolean => epoch === this.epoch;
    return {
      device: this,
      line,
      print: (data) => {
        if (live()) this.tx.send(data);
      },
      printErrorCode: (code) => {
        if (live() && this.syslog) this.tx.send(errorCodeLine(code));
      },
      receiveRaw: (length, prompt, options?: RawReceiveOptions) =>
        new Promise<Buffer>((resolve) => {
          // After a restart the promise never settles: the old command simply vanishes.
          if (!live()) return;
          if (length > 0) {
            // Raw mode first, prompt second: anything sent after seeing the prompt is data.
            const leftover = options?.leftover ?? 'parse';
            const resetAfter = this.pendingReset?.afterDataBytes?.(length);
            this.raw = { needed: length, received: 0, parts: [], leftover, resolve, resetAfter };
            this.currentState = 'raw';
          }
          this.tx.send(prompt);
          if (length === 0) resolve(Buffer.alloc(0));
        }),
      sleep: (ms) =>
        new Promise<void>((resolve) => {
          if (!live()) return;
          if (ms <= 0) {
            resolve();
            return;
          }
          const timer = setTimeout(() => {
            this.commandTimers.delete(timer);
            if (live()) resolve();
          }, ms);
          this.commandTimers.add(timer);
        }),
      afterResult: (action) => {
        afterResult.push(action);
      },
    };
  }

  private feedRaw(chunk: Buffer): void {
    const raw = this.raw!;
    if (raw.resetAfter !== undefined && raw.received + chunk.length > raw.resetAfter) {
      this.reset();
      return;
    }
    const missing = raw.needed - raw.received;
    if (chunk.length < missing) {
      raw.parts.push(chunk);
      raw.received += chunk.length;
      return;
    }
    raw.parts.push(chunk.subarray(0, missing));
    const extra = chunk.length > missing ? Buffer.from(chunk.subarray(missing)) : undefined;
    this.raw = undefined;
    this.currentState = 'busy';
    if (raw.leftover === 'parse') {
      // SYSFLASH: extra bytes wait until the result is printed, then go to the command-line receiver.
      this.leftover = extra;
      raw.resolve(Buffer.concat(raw.parts));
      return;
    }
    // SYSMFG: extra bytes are handed back while the command still runs → busy p..., discarded
    // (before the result, which needs the NVS write first).
    raw.resolve(Buffer.concat(raw.parts));
    if (extra) this.replyBusy(extra);
  }

  private replyBusy(chunk: Buffer): void {
    if (chunk.includes(FORCE_RESTART_TRIGGER)) {
      this.forceRestart();
      return;
    }
    this.stats.busyReplies++;
    if (this.syslog) this.tx.send(errorCodeLine(ErrorCode.BUSY));
    this.tx.send(BUSY_LINE);
  }

  /** `AT+RST\r\n` inside busy input: announce, then restart once the message is out. */
  private forceRestart(): void {
    this.abortCommand();
    this.currentState = 'booting';
    this.tx.send(FORCE_RESTART_LINE);
    const epoch = this.epoch;
    this.tx.then(() => {
      if (epoch === this.epoch) this.restart();
    });
  }

  // ---------------------------------------------------------------- helpers

  private transmit(wireChunk: Buffer): void {
    const chunk = this.faults?.filterOutput ? this.faults.filterOutput(wireChunk) : wireChunk;
    if (!chunk || chunk.length === 0) return;
    this.stats.bytesSent += chunk.length;
    this.emit('data', chunk);
  }

  /** Forget the running command and the receiver's partial input. */
  private abortCommand(): void {
    this.epoch++;
    for (const timer of this.commandTimers) clearTimeout(timer);
    this.commandTimers.clear();
    this.raw = undefined;
    this.leftover = undefined;
    this.pendingReset = undefined;
    this.line = [];
    this.lineOverflow = false;
    this.previousByte = -1;
  }

  private resetRamState(): void {
    this.echo = true;
    this.syslog = false;
    if (this.uart !== this.bootUart) {
      const changed = this.uart.baudRate !== this.bootUart.baudRate;
      this.uart = this.bootUart;
      if (changed) this.emit('baudrate', this.uart.baudRate);
    }
  }

  private clearBootTimer(): void {
    if (this.bootTimer) clearTimeout(this.bootTimer);
    this.bootTimer = undefined;
  }

  private requireMfgPartition(): PartitionInfo {
    const p = this.preset.mfgNvs ? this.findPartition(MFG_NVS_LABEL) : undefined;
    if (!p) throw new RangeError(`${this.chip} ${this.firmware} has no mfg_nvs (legacy firmware)`);
    return p;
  }

  private requireMfgStore(): MfgStore {
    this.requireMfgPartition();
    const store = this.loadMfgStore();
    if (!store) throw new RangeError('mfg_nvs does not hold a valid store (erase it or call resetMfg())');
    return store;
  }

  private requirePartition(label: string): PartitionInfo {
    const p = this.findPartition(label);
    if (!p) throw new RangeError(`no partition "${label}" in the ${this.chip} ${this.firmware} table`);
    return p;
  }
}

/** The preset with `extra` rows appended to its table; overlapping rows are a configuration error. */
function withExtraPartitions(preset: FirmwarePreset, extra: readonly PartitionInfo[]): FirmwarePreset {
  if (extra.length === 0) return preset;
  const rows = [...preset.partitions];
  for (const row of extra) {
    const clash = rows.find((p) => p.label === row.label || (row.offset < p.offset + p.size && p.offset < row.offset + row.size));
    if (clash) throw new Error(`extra partition ${row.label} clashes with ${clash.label}`);
    rows.push(Object.freeze({ ...row }));
  }
  return { ...preset, partitions: Object.freeze(rows) };
}
