import { EventEmitter } from 'node:events';
import { DisconnectedError, PortError } from '../errors.js';
import type { Transport } from './transport.js';

/**
 * What every transport has in common, so serial, TCP (and the emulator, if it wants) behave the same
 * from the AT layer's point of view:
 *
 * - `write()` rejects at once with a DisconnectedError when the transport is closed or closing, and
 *   every write still pending when it closes is rejected too (serialport never calls back a write
 *   after a close, so without this a job would hang forever after an unplug);
 * - `close` is emitted exactly once: with a DisconnectedError when the far end went away
 *   ({@link lost}), without an argument after our own `close()`;
 * - `close()` is idempotent, concurrent calls share one promise, and it resolves after `close` was emitted;
 * - `data` is not emitted any more once `close()` was called;
 * - no `error` event is ever emitted (failures surface as rejected writes and the `close` argument).
 *
 * Subclasses implement {@link writeBytes} and {@link closeResource}, call {@link pushData} for
 * incoming bytes and {@link lost} when the connection died.
 */
export abstract class BaseTransport extends EventEmitter implements Transport {
  readonly url: string;
  #state: 'open' | 'closing' | 'closed' = 'open';
  #baudRate: number;
  readonly #pending = new Set<(error: Error) => void>();
  #closing: Promise<void> | undefined;
  #lostError: DisconnectedError | undefined;

  protected constructor(url: string, baudRate: number) {
    super();
    this.url = url;
    this.#baudRate = baudRate;
  }

  get isOpen(): boolean {
    return this.#state === 'open';
  }

  get baudRate(): number {
    return this.#baudRate;
  }

  /** Subclasses: record the line rate now in effect. */
  protected setCurrentBaudRate(value: number): void {
    this.#baudRate = value;
  }

  write(data: Uint8Array): Promise<void> {
    if (this.#state !== 'open') return Promise.reject(this.closedError('write'));
    if (data.byteLength === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      let done = false;
      const fail = (error: Error): void => {
        if (done) return;
        done = true;
        this.#pending.delete(fail);
        reject(error);
      };
      this.#pending.add(fail);
      try {
        this.writeBytes(data, (error) => {
          if (done) return;
          if (error) {
            fail(this.#state === 'open' ? this.writeFailed(error) : this.closedError('write'));
            return;
          }
          done = true;
          this.#pending.delete(fail);
          resolve();
        });
      } catch (error) {
        fail(this.writeFailed(error));
      }
    });
  }

  abstract setBaudRate(baudRate: number): Promise<void>;

  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    if (this.#state === 'closed') return Promise.resolve();
    this.#state = 'closing';
    this.#rejectPending(new DisconnectedError(`${this.url} was closed while a write was pending`, { details: { url: this.url } }));
    this.#closing = (async () => {
      try {
        await this.closeResource();
      } catch {
        // Closing is best effort: the handle is gone for us either way.
      }
      this.#state = 'closed';
      this.emit('close');
    })();
    return this.#closing;
  }

  /** Hand the bytes to the OS/peer; call `done` once they were accepted (or failed). Never called after close. */
  protected abstract writeBytes(data: Uint8Array, done: (error?: Error | null) => void): void;

  /** Release the OS handle. Must settle even if the device hangs (guard it with waitFor). */
  protected abstract closeResource(): Promise<void>;

  /** Subclasses: emit received bytes (dropped once closing). */
  protected pushData(chunk: Buffer): void {
    if (this.#state === 'open' && chunk.length > 0) this.emit('data', chunk);
  }

  /**
   * Subclasses: the far end went away. Rejects pending writes, marks the transport closed and emits
   * `close` with the error. Ignored when already closed or while our own `close()` runs (that one
   * emits `close` without an argument).
   */
  protected lost(error: DisconnectedError): void {
    if (this.#state !== 'open') return;
    this.#state = 'closed';
    this.#lostError = error;
    this.#rejectPending(error);
    this.emit('close', error);
  }

  /** The error for a write that failed while the transport still looked open. Default: DisconnectedError. */
  protected writeFailed(cause: unknown): Error {
    const reason = cause instanceof Error ? cause.message : String(cause);
    return new DisconnectedError(`write to ${this.url} failed: ${reason}`, { cause, details: { url: this.url } });
  }

  /** The error for an operation on a closed transport. */
  protected closedError(operation: string): DisconnectedError {
    const lost = this.#lostError;
    const message = lost ? `cannot ${operation}: ${lost.message}` : `cannot ${operation}: ${this.url} is closed`;
    return new DisconnectedError(message, { cause: lost, details: { url: this.url } });
  }

  #rejectPending(error: Error): void {
    const pending = [...this.#pending];
    this.#pending.clear();
    for (const fail of pending) fail(error);
  }
}

/** Throws a PortError unless `baudRate` is a positive integer. */
export function assertBaudRate(baudRate: number): void {
  if (!Number.isInteger(baudRate) || baudRate <= 0) {
    throw new PortError(`invalid baud rate ${String(baudRate)} (expected a positive integer)`, { details: { baudRate } });
  }
}
