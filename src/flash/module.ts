import { AtSession, type SessionLogger } from '../at/session.js';
import { AtPkiError, DeviceError, InputError, ProtocolError } from '../errors.js';
import { openTransport } from '../transport/open.js';
import type { Transport } from '../transport/transport.js';
import { describeQueryOnlyState } from './changes-sent.js';
import { parseFirmwareInfo, type FirmwareInfo } from './firmware.js';
import type { Partition } from './partition-table.js';
import { queryPartitions } from './sysflash.js';

export interface ConnectOptions {
  /** Line rate. @default 115200 */
  baudRate?: number;
  /** Budget for opening the port and for each ordinary command, in ms. @default 3000 */
  timeoutMs?: number;
  signal?: AbortSignal;
  logger?: SessionLogger;
}

/**
 * A module on a port: the transport, the AT session on it, and what it told us about itself
 * (firmware, partition table), kept for the connection (the table is asked until two answers agree:
 * twice on a clean line).
 */
/**
 * Where the module keeps PKI data: in its own user partitions (client_cert…, written with AT+SYSFLASH;
 * ESP-AT ≤ 3.0 and ESP8266) or as key-value pairs in `mfg_nvs` (AT+SYSMFG; ESP-AT ≥ 3.1).
 */
export type StorageMode = 'partitions' | 'mfg_nvs';

export class EspAtModule {
  #partitions: Partition[] | undefined;
  #storageMode: StorageMode | undefined;

  private constructor(
    readonly transport: Transport,
    readonly session: AtSession,
    readonly firmware: FirmwareInfo,
  ) {}

  static async connect(url: string, options: ConnectOptions = {}): Promise<EspAtModule> {
    const timeoutMs = options.timeoutMs ?? 3000;
    const transport = await openTransport(url, { baudRate: options.baudRate, timeoutMs, signal: options.signal });
    let session: AtSession | undefined;
    try {
      session = await AtSession.connect(transport, { commandTimeoutMs: timeoutMs, logger: options.logger, signal: options.signal });
      const gmr = await session.command('AT+GMR', { signal: options.signal });
      return new EspAtModule(transport, session, parseFirmwareInfo(gmr.lines));
    } catch (error) {
      if (session && error instanceof AtPkiError && session.flushedBytes > 0) error.details.flushedBytes = session.flushedBytes;
      session?.dispose();
      await transport.close().catch(() => {});
      throw error;
    }
  }

  get url(): string {
    return this.transport.url;
  }

  /**
   * The partition table, kept for the connection. Asked until two answers in a row agree: a byte lost
   * or garbled on the line (`"lient_cert"`, a wrong size) must not become the table every later
   * operation on this connection relies on.
   */
  async partitions(options: { signal?: AbortSignal } = {}): Promise<Partition[]> {
    this.#partitions ??= await stablePartitionTable(this, options);
    return this.#partitions;
  }

  /**
   * Decided from what the module says, not from its version alone: an `mfg_nvs` partition in its
   * table and an OK to `AT+SYSMFG?` mean mfg_nvs mode (protocol §3.1, §3.4).
   */
  async storageMode(options: { signal?: AbortSignal } = {}): Promise<StorageMode> {
    if (this.#storageMode) return this.#storageMode;
    const hasMfgNvs = (await this.partitions(options)).some((p) => p.label === 'mfg_nvs');
    let mode: StorageMode = 'partitions';
    // An ERROR may also be a glitch on the line: only a module that refuses again and again is taken
    // to have no usable mfg_nvs (the answer is kept for the whole connection).
    for (let attempt = 0; hasMfgNvs && attempt < STORAGE_PROBES; attempt++) {
      try {
        await this.session.command('AT+SYSMFG?', options);
        mode = 'mfg_nvs';
        break;
      } catch (error) {
        if (!(error instanceof DeviceError)) throw error;
      }
    }
    this.#storageMode = mode;
    return mode;
  }

  /** The partition with this label, or an InputError naming the ones the module has. */
  async partition(label: string, options: { signal?: AbortSignal } = {}): Promise<Partition> {
    const partitions = await this.partitions(options);
    const found = partitions.find((p) => p.label === label);
    if (found) return found;
    const known = partitions.map((p) => p.label).join(', ') || 'none';
    const hint = partitions.some((p) => p.label === 'mfg_nvs')
      ? ' (this module keeps credentials in mfg_nvs: ESP-AT 3.1 or later)'
      : '';
    throw new InputError(`the module has no partition named ${JSON.stringify(label)}${hint}; it has: ${known}`, {
      details: { partition: label, available: partitions.map((p) => p.label) },
    });
  }

  /**
   * What a failure that did not say so itself left on the module: nothing but queries were sent, unless
   * the module had to be freed from a data phase, or a command came back garbled (it may have run as
   * another command) since `suspectBaseline` (the session's suspect count when the operation began).
   */
  untouchedState(suspectBaseline = 0): string {
    return describeQueryOnlyState(this.session.flushedBytes, this.session.suspectEvents > suspectBaseline);
  }

  async close(): Promise<void> {
    this.session.dispose();
    await this.transport.close();
  }
}

/** Times `AT+SYSMFG?` is asked before a module with an mfg_nvs partition counts as not answering it. */
const STORAGE_PROBES = 3;
/** Most `AT+SYSFLASH?` queries while waiting for two answers in a row to agree. */
const TABLE_QUERIES = 4;

async function stablePartitionTable(module: EspAtModule, options: { signal?: AbortSignal }): Promise<Partition[]> {
  let previous: string | undefined;
  let lastError: unknown;
  for (let query = 0; query < TABLE_QUERIES; query++) {
    let table: Partition[];
    try {
      table = await queryPartitions(module.session, options);
    } catch (error) {
      // A line that is not a table row: garbled on the way, or not an ESP-AT module at all.
      if (!(error instanceof ProtocolError)) throw error;
      lastError = error;
      previous = undefined;
      continue;
    }
    const text = JSON.stringify(table);
    if (text === previous) return table;
    previous = text;
  }
  if (lastError && previous === undefined) throw lastError;
  throw new ProtocolError(`the module on ${module.url} answered AT+SYSFLASH? differently each time it was asked (${TABLE_QUERIES} times): check the line`, {
    details: { command: 'AT+SYSFLASH?' },
  });
}


