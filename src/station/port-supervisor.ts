/**
 * Keeps one port connected for weeks: open it, sync with the module (the AT session does AT/ATE0/
 * SYSLOG at connect), ask its firmware and partition table, then watch it. When the port goes away
 * (unplug, remote close: the transport's `close` with a DisconnectedError) or the module stops
 * answering, the port is marked down and reopened with bounded exponential backoff
 * (`initialDelayMs` doubling up to `maxDelayMs`, reset after every successful connection). Jobs get
 * the module only while the port is up (`acquire()`).
 *
 * A module that restarts on its own (it printed `ready`: brown-out, watchdog, someone pressed EN, or
 * a different module on the same adapter) is noticed (`reset` event); before the next job its
 * firmware and partition table are asked again, and if the table changed the port is reconnected
 * so that nothing cached about the old module is used.
 *
 * Events: `state` (PortStateName), `up` ({ reconnect }), `down` (Error), `reset` (line),
 * `command` (CommandEvent, for metrics).
 */
import { EventEmitter } from 'node:events';
import type { CommandEvent, SessionLogger } from '../at/session.js';
import { AbortedError, AtPkiError, DisconnectedError, PortError, TimeoutError } from '../errors.js';
import { formatVersion } from '../flash/firmware.js';
import { readDeviceIdentity, type DeviceIdentity } from '../flash/identity.js';
import { EspAtModule, type ConnectOptions, type StorageMode } from '../flash/module.js';
import type { Partition } from '../flash/partition-table.js';
import { queryPartitions } from '../flash/sysflash.js';
import { parseFirmwareInfo } from '../flash/firmware.js';
import { delay, waitFor } from '../transport/abortable.js';
import type { ApiErrorBody, FirmwareView, PortStateName } from './api-types.js';
import type { PortConfig, ReconnectConfig } from './config.js';
import { errorBody } from './errors.js';
import type { StationLogger } from './logger.js';

export type ConnectModule = (url: string, options: ConnectOptions) => Promise<EspAtModule>;

export interface PortSupervisorOptions {
  port: PortConfig;
  reconnect: ReconnectConfig;
  logger: StationLogger;
  /** How a module is connected. @default EspAtModule.connect */
  connect?: ConnectModule;
}

interface PortSupervisorEvents {
  state: [state: PortStateName];
  up: [info: { reconnect: boolean }];
  down: [error: Error];
  reset: [line: string];
  command: [event: CommandEvent];
}

export class PortSupervisor extends EventEmitter<PortSupervisorEvents> {
  readonly name: string;
  readonly url: string;
  readonly #options: PortSupervisorOptions;
  readonly #logger: StationLogger;
  readonly #stop = new AbortController();
  #state: PortStateName = 'connecting';
  #since = new Date();
  #module: EspAtModule | undefined;
  #firmware: FirmwareView | undefined;
  #partitions: Partition[] | undefined;
  #storage: StorageMode | undefined;
  /** The unit on the port now (undefined while down, or when it cannot be identified). */
  #identity: DeviceIdentity | undefined;
  /** The last unit identified on this port, kept while it is down. */
  #lastIdentity: DeviceIdentity | undefined;
  #lastError: Error | undefined;
  #everUp = false;
  #reconnects = 0;
  #resets = 0;
  /** The module restarted since its firmware/partitions were last asked. */
  #stale = false;
  /** Resolves the wait of the connection loop when the connection is lost (or on purpose). */
  #dropConnection: ((error: Error | undefined) => void) | undefined;
  #loop: Promise<void> | undefined;

  /** The AT session logs `port: <url>`; our lines already carry `port: <name>`, so the URL goes to `url`. */
  readonly #sessionLogger: SessionLogger = {
    debug: (obj, msg) => this.#logger.debug(portAsUrl(obj), msg),
    info: (obj, msg) => this.#logger.info(portAsUrl(obj), msg),
    warn: (obj, msg) => this.#logger.warn(portAsUrl(obj), msg),
  };

  constructor(options: PortSupervisorOptions) {
    super();
    this.name = options.port.name;
    this.url = options.port.url;
    this.#options = options;
    this.#logger = options.logger;
  }

  get state(): PortStateName {
    return this.#state;
  }

  get since(): Date {
    return this.#since;
  }

  get isUp(): boolean {
    return this.#state === 'up';
  }

  /** Of the module connected now, or the last one. */
  get firmware(): FirmwareView | undefined {
    return this.#firmware;
  }

  /** The partition table of the module connected now, or of the last one; undefined if never known. */
  get partitions(): readonly Partition[] | undefined {
    return this.#partitions;
  }

  /** Where the module keeps credentials: partitions (ESP-AT <= 3.0) or mfg_nvs (>= 3.1); undefined if never known. */
  get storage(): StorageMode | undefined {
    return this.#storage;
  }

  /** The unit connected now, as identified at connect (and again after a restart); undefined if none answers as one. */
  get identity(): DeviceIdentity | undefined {
    return this.isUp ? this.#identity : undefined;
  }

  /** The last unit seen on this port (also while it is down): what a job accepted now is meant for. */
  get lastIdentity(): DeviceIdentity | undefined {
    return this.#lastIdentity;
  }

  get lastError(): ApiErrorBody | undefined {
    return this.#lastError ? errorBody(this.#lastError) : undefined;
  }

  get reconnects(): number {
    return this.#reconnects;
  }

  get resets(): number {
    return this.#resets;
  }

  /** Start connecting (and keep the port connected until stop()). */
  start(): void {
    this.#loop ??= this.#run();
  }

  /** Stop reconnecting and close the port. Jobs using the module see a DisconnectedError. */
  async stop(): Promise<void> {
    this.#stop.abort(new AbortedError(`port ${this.name} is shutting down`));
    this.#dropConnection?.(undefined);
    await this.#loop;
    this.#setState('stopped');
  }

  /**
   * The module, once the port is up (waiting while it is down or connecting), brought up to date
   * after a restart. Rejects with `signal.reason` when `signal` fires, or a PortError once stopped.
   */
  async acquire(signal: AbortSignal): Promise<EspAtModule> {
    for (;;) {
      const module = await this.#waitUp(signal);
      if (!this.#stale) return module;
      if (await this.#refresh(module, signal)) return module;
    }
  }

  /**
   * After a job failed with a timeout: is the module still answering? If not, drop the connection so
   * the port shows as down and is reopened (and resynced) by the loop.
   */
  async checkAlive(): Promise<void> {
    const module = this.#module;
    if (!module || !this.isUp) return;
    try {
      await module.session.command('AT', { signal: this.#stop.signal });
    } catch (error) {
      if (this.#stop.signal.aborted || this.#module !== module) return;
      this.#logger.warn({ error: errorBody(error) }, 'module stopped answering; reopening the port');
      this.#drop(error instanceof Error ? error : new TimeoutError(String(error)));
    }
  }

  #waitUp(signal: AbortSignal): Promise<EspAtModule> {
    return waitFor<EspAtModule>(
      (resolve, reject) => {
        const check = (): void => {
          if (this.#module && this.#state === 'up') resolve(this.#module);
          else if (this.#state === 'stopped' || this.#stop.signal.aborted) reject(new PortError(`port ${this.name} was stopped`));
        };
        this.on('state', check);
        check();
        return () => this.off('state', check);
      },
      { what: `waiting for port ${this.name}`, signal },
    );
  }

  /** Ask firmware and partitions again after a restart. False if the table changed (the port is reconnected). */
  async #refresh(module: EspAtModule, signal: AbortSignal): Promise<boolean> {
    try {
      const gmr = await module.session.command('AT+GMR', { signal });
      const partitions = await queryPartitions(module.session, { signal });
      this.#firmware = firmwareView(parseFirmwareInfo(gmr.lines).atVersion, gmr.lines);
      // A restart may be another unit on the same adapter: who is there is asked again.
      this.#setIdentity(await this.#identify(module, signal));
      this.#stale = false;
      if (JSON.stringify(partitions) === JSON.stringify(this.#partitions)) return true;
      this.#logger.warn('partition table changed after the module restarted; reconnecting');
      this.#drop(new DisconnectedError(`the module on port ${this.name} restarted with a different partition table`));
      return false;
    } catch (error) {
      if (signal.aborted) throw error;
      this.#drop(error instanceof Error ? error : new Error(String(error)));
      return false;
    }
  }

  async #run(): Promise<void> {
    const { reconnect } = this.#options;
    const connect = this.#options.connect ?? ((url, options) => EspAtModule.connect(url, options));
    const stop = this.#stop.signal;
    let failures = 0;
    while (!stop.aborted) {
      let module: EspAtModule | undefined;
      try {
        module = await connect(this.url, {
          baudRate: this.#options.port.baudRate,
          timeoutMs: this.#options.port.timeoutMs,
          signal: stop,
          logger: this.#sessionLogger,
        });
        const partitions = await module.partitions({ signal: stop }).catch((error: unknown) => {
          if (stop.aborted) throw error;
          this.#logger.warn({ error: errorBody(error) }, 'cannot read the partition table (AT+SYSFLASH?)');
          return undefined;
        });
        const storage = partitions ? await module.storageMode({ signal: stop }) : undefined;
        const identity = await this.#identify(module, stop);
        failures = 0;
        const lost = await this.#hold(module, partitions, storage, identity);
        if (stop.aborted) break;
        this.#markDown(lost ?? new DisconnectedError(`port ${this.name} closed`));
      } catch (error) {
        await module?.close().catch(() => {});
        if (stop.aborted) break;
        const err = error instanceof Error ? error : new Error(String(error));
        // Only state changes are worth a warning: a port left unplugged for a day must not flood the log.
        if (failures === 0) this.#logger.warn({ error: errorBody(err) }, 'cannot connect; retrying with backoff');
        else this.#logger.debug({ error: errorBody(err), attempt: failures + 1 }, 'cannot connect');
        this.#markDown(err);
      }
      const wait = Math.min(reconnect.maxDelayMs, reconnect.initialDelayMs * 2 ** Math.min(failures, 30));
      failures++;
      try {
        await delay(wait, stop, `reconnecting port ${this.name}`);
      } catch {
        break;
      }
    }
    this.#setState('stopped');
  }

  /** The port is up: publish the module and wait until the connection is lost. Returns why. */
  /** The unit's identity; undefined (logged) when it answers as none. */
  async #identify(module: EspAtModule, signal: AbortSignal): Promise<DeviceIdentity | undefined> {
    try {
      return await readDeviceIdentity(module, { signal });
    } catch (error) {
      if (signal.aborted) throw error;
      this.#logger.warn({ error: errorBody(error) }, 'cannot identify the unit on this port');
      return undefined;
    }
  }

  #setIdentity(identity: DeviceIdentity | undefined): void {
    this.#identity = identity;
    if (identity) this.#lastIdentity = identity;
  }

  async #hold(module: EspAtModule, partitions: Partition[] | undefined, storage: StorageMode | undefined, identity: DeviceIdentity | undefined): Promise<Error | undefined> {
    const lost = new Promise<Error | undefined>((resolve) => {
      this.#dropConnection = resolve;
    });
    const onClose = (error?: Error): void => {
      const reason = error ? `: ${error.message}` : '';
      this.#drop(error instanceof DisconnectedError ? error : new DisconnectedError(`port ${this.name} went away${reason}`, { cause: error }));
    };
    const onReset = (line: string): void => {
      this.#resets++;
      this.#stale = true;
      this.#logger.warn({ line }, 'module restarted');
      this.emit('reset', line);
    };
    const onCommand = (event: CommandEvent): void => {
      this.emit('command', event);
    };
    module.transport.on('close', onClose);
    module.session.on('reset', onReset);
    module.session.on('command', onCommand);
    try {
      if (!module.transport.isOpen) return new DisconnectedError(`port ${this.name} closed while connecting`);
      const reconnect = this.#everUp;
      this.#module = module;
      this.#firmware = firmwareView(module.firmware.atVersion, module.firmware.lines);
      this.#partitions = partitions;
      this.#storage = storage;
      this.#setIdentity(identity);
      this.#stale = false;
      this.#lastError = undefined;
      this.#everUp = true;
      if (reconnect) this.#reconnects++;
      this.#logger.info(
        { firmware: this.#firmware.atVersion, partitions: partitions?.length, storage, unit: identity?.mac, reconnect },
        reconnect ? 'port is back up' : 'port is up',
      );
      this.#setState('up');
      this.emit('up', { reconnect });
      return await lost;
    } finally {
      this.#dropConnection = undefined;
      this.#module = undefined;
      this.#identity = undefined;
      module.transport.off('close', onClose);
      module.session.off('reset', onReset);
      module.session.off('command', onCommand);
      await module.close().catch(() => {});
    }
  }

  /**
   * Lose the connection now: the port is down at once (a job acquiring right after this waits for the
   * reconnect instead of getting the dying module); the loop then closes it and reconnects.
   */
  #drop(error: Error): void {
    const drop = this.#dropConnection;
    if (!drop) return;
    this.#dropConnection = undefined;
    this.#module = undefined;
    this.#markDown(error);
    drop(error);
  }

  #markDown(error: Error): void {
    this.#lastError = error;
    const wasUp = this.#state === 'up';
    if (wasUp) this.#logger.warn({ error: errorBody(error) }, 'port is down');
    if (this.#state !== 'down') {
      this.#setState('down');
      this.emit('down', error);
    }
  }

  #setState(state: PortStateName): void {
    if (this.#state === state) return;
    this.#state = state;
    this.#since = new Date();
    this.emit('state', state);
  }
}

function portAsUrl(obj: object): object {
  if (!('port' in obj)) return obj;
  const { port, ...rest } = obj as { port: unknown };
  return { ...rest, url: port };
}

function firmwareView(version: readonly number[] | undefined, lines: readonly string[]): FirmwareView {
  return { atVersion: formatVersion(version), lines: [...lines] };
}

/** For messages: is this the kind of error after which the module may have stopped answering? */
export function isTimeout(error: unknown): boolean {
  return error instanceof TimeoutError || (error instanceof AtPkiError && error.code === 'TIMEOUT');
}
