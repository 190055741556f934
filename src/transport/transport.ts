import type { EventEmitter } from 'node:events';

/**
 * The seam every byte crosses: a serial device, a TCP serial server or the in-process emulator
 * all look like this to the AT layer (cf. node-serialport's binding interface). It only moves bytes.
 *
 * Events:
 * - `data` (chunk: Buffer) — bytes from the module, in arrival order.
 * - `close` (error?: Error) — emitted once when the transport is gone. `error` is a DisconnectedError
 *   when the far end went away (unplug, remote close); undefined after our own `close()`.
 */
export interface Transport extends EventEmitter {
  /** The URL it was opened from (for messages and logs). */
  readonly url: string;
  readonly isOpen: boolean;
  /** Current line rate in baud (informational for TCP). */
  readonly baudRate: number;

  /**
   * Hand bytes to the port. Resolves once they are accepted by the OS/peer. Rejects with a
   * DisconnectedError if the port is or becomes closed, never hangs after a close.
   */
  write(data: Uint8Array): Promise<void>;

  /** Change the host side's line rate (after the module confirmed its own switch). */
  setBaudRate(baudRate: number): Promise<void>;

  /** Close the port. Idempotent. Emits `close` without an error. */
  close(): Promise<void>;
}

export interface OpenOptions {
  /** Line rate for serial ports and the emulator's line-rate timing. Default 115200. */
  baudRate?: number;
  /** Give up opening after this many ms. Default 5000. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Opens a transport for one URL scheme (`tcp:`, `mock:`...). */
export type TransportFactory = (url: URL, options: Required<Pick<OpenOptions, 'baudRate' | 'timeoutMs'>> & { signal?: AbortSignal }) => Promise<Transport>;
