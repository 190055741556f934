/**
 * In-process transport for `mock://` URLs: the emulator's UART wired straight to a Transport-
 * shaped object (structurally the application's Transport; not imported, this package stays
 * independent). Opening powers/resets the module like a USB-serial adapter's auto-reset does.
 */
import { EventEmitter } from 'node:events';
import { garble, lineSettingsMatch } from './baud-mismatch.js';
import { EspAtEmulator } from './emulator.js';
import { createEmulator, getEmulator } from './emulator-registry.js';
import { MockDeviceError, disconnectedError } from './errors.js';
import { FlashStateFile } from './flash-state-file.js';
import { parseMockUrl } from './mock-url.js';

/** Copy of the application's Transport interface (kept in sync by hand, checked structurally). */
export interface Transport extends EventEmitter {
  readonly url: string;
  readonly isOpen: boolean;
  readonly baudRate: number;
  write(data: Uint8Array): Promise<void>;
  setBaudRate(baudRate: number): Promise<void>;
  close(): Promise<void>;
}

export interface MockTransportOptions {
  /** Host-side line rate. Must match the module's (115200 after boot) or bytes arrive garbled. */
  baudRate: number;
  /** Accepted for interface compatibility; opening a mock never waits. */
  timeoutMs: number;
  /** Aborts the open if already aborted. */
  signal?: AbortSignal;
}

/** Which transport currently holds each emulator's UART (one at a time, like a port lock). */
const linkHolders = new WeakMap<EspAtEmulator, MockTransport>();

export class MockTransport extends EventEmitter implements Transport {
  private open = true;
  private hostBaudRate: number;
  /** Output held back until someone listens for 'data' (the OS would buffer it too). */
  private held: Buffer[] = [];
  private flushScheduled = false;
  private readonly onEmulatorData = (chunk: Buffer): void => this.deliver(chunk);
  private readonly onUnplug = (): void => this.disconnect();

  /**
   * @param owned true when this transport created the emulator and disposes it on close.
   */
  constructor(
    readonly url: string,
    readonly emulator: EspAtEmulator,
    baudRate: number,
    private readonly owned: boolean,
  ) {
    super();
    this.hostBaudRate = baudRate;
    emulator.on('data', this.onEmulatorData);
    emulator.on('unplug', this.onUnplug);
    this.on('newListener', (event) => {
      if (event === 'data') this.scheduleFlush();
    });
  }

  get isOpen(): boolean {
    return this.open;
  }

  get baudRate(): number {
    return this.hostBaudRate;
  }

  async write(data: Uint8Array): Promise<void> {
    if (!this.open) throw disconnectedError(this.url);
    const bytes = this.linesMatch() ? Buffer.from(data) : garble(data);
    this.emulator.receive(bytes);
  }

  async setBaudRate(baudRate: number): Promise<void> {
    if (!this.open) throw disconnectedError(this.url);
    if (!Number.isInteger(baudRate) || baudRate <= 0) throw new RangeError(`invalid baud rate ${baudRate}`);
    this.hostBaudRate = baudRate;
  }

  async close(): Promise<void> {
    if (!this.open) return;
    this.shutDown();
    this.emit('close');
  }

  private linesMatch(): boolean {
    return lineSettingsMatch(this.hostBaudRate, this.emulator.uartConfig);
  }

  private deliver(chunk: Buffer): void {
    if (!this.open) return;
    const bytes = this.linesMatch() ? chunk : garble(chunk);
    if (this.held.length > 0 || this.listenerCount('data') === 0) {
      this.held.push(bytes);
      this.scheduleFlush();
      return;
    }
    this.emit('data', bytes);
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.held.length === 0) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      if (!this.open || this.listenerCount('data') === 0) return;
      const held = this.held;
      this.held = [];
      for (const chunk of held) this.emit('data', chunk);
    });
  }

  /** The module went away under us: close with a DISCONNECTED error (on a later turn). */
  private disconnect(): void {
    if (!this.open) return;
    this.shutDown();
    setImmediate(() => this.emit('close', disconnectedError(this.url)));
  }

  private shutDown(): void {
    this.open = false;
    this.held = [];
    this.emulator.off('data', this.onEmulatorData);
    this.emulator.off('unplug', this.onUnplug);
    if (linkHolders.get(this.emulator) === this) linkHolders.delete(this.emulator);
    const state = FlashStateFile.of(this.emulator);
    if (this.owned) {
      state?.detach();
      this.emulator.dispose();
    } else {
      state?.flush();
    }
  }
}

/**
 * Open `mock://<chip>[?options]` (options: mock-device/README.md). Without `id` each open gets a
 * fresh emulator; with `id` the named one from the registry is used (created from the URL's
 * options if missing). Unless `boot=0`, the module is reset at open and prints `ready` shortly after.
 */
export async function createMockTransport(url: URL, options: MockTransportOptions): Promise<MockTransport> {
  if (options.signal?.aborted) throw new MockDeviceError('ABORTED', `${url.href}: open aborted`);
  const parsed = parseMockUrl(url);
  const emulatorOptions = { ...parsed.emulator, startup: 'off' as const };

  let emulator: EspAtEmulator;
  let created = false;
  if (parsed.id !== undefined) {
    const existing = getEmulator(parsed.id);
    if (existing) {
      emulator = existing;
    } else {
      emulator = createEmulator(parsed.id, emulatorOptions);
      created = true;
    }
  } else {
    emulator = new EspAtEmulator(emulatorOptions);
    created = true;
  }

  const holder = linkHolders.get(emulator);
  if (holder?.isOpen) {
    throw new MockDeviceError('PORT_UNAVAILABLE', `${url.href}: mock device is already open (${holder.url})`);
  }
  // A state file is attached by whoever creates the emulator; a running named one keeps its flash.
  if (created && parsed.statePath !== undefined) {
    try {
      FlashStateFile.attach(emulator, parsed.statePath);
    } catch (error) {
      if (parsed.id === undefined) emulator.dispose();
      throw error;
    }
  }

  const transport = new MockTransport(url.href, emulator, options.baudRate, parsed.id === undefined);
  linkHolders.set(emulator, transport);
  if (parsed.boot) {
    if (emulator.powered) emulator.reset();
    else emulator.powerOn({ announce: true });
  } else {
    emulator.powerOn({ announce: false });
  }
  return transport;
}
