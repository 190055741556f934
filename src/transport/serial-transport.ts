import { SerialPort } from 'serialport';
import { AtPkiError, DisconnectedError, PortError } from '../errors.js';
import { waitFor } from './abortable.js';
import { eofSafeBinding } from './serial-binding.js';
import { assertBaudRate, BaseTransport } from './base-transport.js';

/**
 * A local serial port through `serialport` (8N1, raw mode, `lock: true`).
 *
 * Modem lines (DTR/RTS). Most ESP dev boards wire DTR/RTS of the USB bridge to IO0/EN for esptool's
 * auto-reset. With the usual two-transistor circuit "both asserted" and "both deasserted" mean run,
 * RTS alone holds the chip in reset, DTR alone selects the bootloader on the next reset; boards
 * with the lines wired straight through (RC only) are in reset/bootloader while a line is asserted.
 * "Both deasserted" (lines high) is the one state that means run for every wiring, it is what esptool
 * leaves behind after its hard reset, and ESP-AT UARTs do not use DTR/RTS otherwise. So after
 * opening we set `{ dtr: false, rts: false }` explicitly, with one TIOCMSET (both lines change at
 * once, no transient RTS-only state). Linux asserts both when the device is opened; with the
 * two-transistor circuit that is "run" too, so no reset happens. With hardware flow control
 * (`rtscts`) RTS is the "clear to send" for the module and defaults to asserted.
 * Pseudo-terminals and some adapters have no modem lines: the ioctl fails with "Inappropriate ioctl"
 * there, which is ignored.
 *
 * `hupcl: false`: on Windows this opens with DTR_CONTROL_DISABLE, so DTR is never raised at open (no
 * reset/bootloader pulse, matching our `dtr: false`). On Linux/macOS the binding only ever *sets*
 * HUPCL and never clears it (checked: `stty -a` still shows `hupcl` after an open with
 * `hupcl: false`), so the kernel still drops DTR/RTS on the last close; with our default lines
 * (already deasserted) that is not a transition at all.
 *
 * Reads go through {@link eofSafeBinding} so a hang-up is always reported (see serial-binding.ts).
 *
 * Writes resolve on serialport's write callback (bytes handed to the kernel), without `drain()`:
 * drain adds a tcdrain round trip (~20 ms on some adapters) per chunk, and the AT layer waits for the
 * module's answer anyway. A write never resolves after a close: it is rejected (see BaseTransport).
 */

export interface SerialLineOptions {
  /** DTR level set right after opening. Default `false` (deasserted: ESP boards run). */
  dtr?: boolean;
  /** RTS level set right after opening. Default `false`, or `true` with `rtscts`. */
  rts?: boolean;
  /** RTS/CTS hardware flow control (ESP-AT supports it on its UART when configured). Default `false`. */
  rtscts?: boolean;
}

export interface SerialOpenOptions extends SerialLineOptions {
  baudRate: number;
  /** Cancels the open; a port that opens after that is closed again. */
  signal?: AbortSignal;
  /** Shown in messages and as `Transport.url`. Default: the path. */
  url?: string;
}

/** Bound for OS calls that should be instant (set lines, change rate, close); guards against wedged drivers. */
const OS_CALL_TIMEOUT_MS = 5000;

export class SerialTransport extends BaseTransport {
  /** The device path. */
  readonly path: string;
  readonly #port: SerialPort;
  #lastError: Error | undefined;

  /**
   * Opens `path`, sets DTR/RTS, and returns the open transport. Open failures are PortErrors.
   * Has no timeout of its own (a native open is quick): `openTransport` adds one through `signal`.
   */
  static async open(path: string, options: SerialOpenOptions): Promise<SerialTransport> {
    const { baudRate, signal } = options;
    const rtscts = options.rtscts ?? false;
    const dtr = options.dtr ?? false;
    const rts = options.rts ?? rtscts;

    let port: SerialPort;
    try {
      // A variable, not a literal: `binding` is accepted at runtime but not in SerialPort's option type.
      const settings = {
        binding: eofSafeBinding(),
        path,
        baudRate,
        autoOpen: false,
        lock: true,
        dataBits: 8 as const,
        stopBits: 1 as const,
        parity: 'none' as const,
        rtscts,
        xon: false,
        xoff: false,
        hupcl: false,
      };
      port = new SerialPort(settings);
    } catch (error) {
      throw serialOpenError(error, path, baudRate);
    }
    // Without a listener an 'error' event would crash the process.
    const earlyErrors = (): void => undefined;
    port.on('error', earlyErrors);

    const opened = new Promise<void>((resolve, reject) => port.open((error) => (error ? reject(error) : resolve())));
    try {
      await waitFor(opened, { what: `opening ${path}`, signal, onAbandon: () => closeQuietly(port) });
    } catch (error) {
      throw serialOpenError(error, path, baudRate);
    }

    try {
      await waitFor<void>(
        (resolve, reject) => port.set({ dtr, rts }, (error) => (error ? reject(error) : resolve())),
        { what: `setting DTR/RTS on ${path}`, signal, timeoutMs: OS_CALL_TIMEOUT_MS },
      );
    } catch (error) {
      if (!hasNoModemLines(error)) {
        closeQuietly(port);
        if (error instanceof AtPkiError) throw error;
        const message = error instanceof Error ? error.message : String(error);
        throw new PortError(`cannot set DTR/RTS on ${path}: ${message}`, { cause: error, details: { path, reason: 'modem-lines' } });
      }
      // No modem lines here (pty, some adapters): nothing that could hold the module in reset either.
    }

    if (!port.isOpen) {
      // Went away between open and now (unplugged during setup).
      throw new PortError(`port ${path} closed while opening`, { details: { path, reason: 'disconnected' } });
    }
    const transport = new SerialTransport(port, path, options.url ?? path, baudRate);
    port.off('error', earlyErrors);
    return transport;
  }

  private constructor(port: SerialPort, path: string, url: string, baudRate: number) {
    super(url, baudRate);
    this.path = path;
    this.#port = port;
    port.on('error', (error: Error) => {
      this.#lastError = error;
    });
    port.on('data', (chunk: Buffer) => this.pushData(chunk));
    port.on('close', (error?: Error | null) => this.#portClosed(error ?? undefined));
    // Defensive: should the stream ever end (a binding pushing EOF), the port is unusable.
    port.on('end', () => this.#portClosed(new Error('end of stream')));
  }

  /**
   * Changes the host side's rate with `port.update()`. Note that this flushes both directions
   * (tcflush TCIOFLUSH): call it only once the module's answer to its own rate switch was read.
   * Rejects with a PortError if the rate is not supported, a DisconnectedError if the port is closed.
   */
  async setBaudRate(baudRate: number): Promise<void> {
    assertBaudRate(baudRate);
    if (!this.isOpen) throw this.closedError('set the baud rate');
    await waitFor<void>(
      (resolve, reject) => {
        const onClose = (): void => reject(this.closedError('set the baud rate'));
        this.once('close', onClose);
        this.#port.update({ baudRate }, (error) => {
          if (!error) resolve();
          else if (!this.isOpen) reject(this.closedError('set the baud rate'));
          else reject(new PortError(`cannot set ${this.path} to ${baudRate} baud: ${error.message}`, { cause: error, details: { path: this.path, baudRate } }));
        });
        return () => this.off('close', onClose);
      },
      { what: `setting ${this.path} to ${baudRate} baud`, timeoutMs: OS_CALL_TIMEOUT_MS },
    );
    this.setCurrentBaudRate(baudRate);
  }

  protected writeBytes(data: Uint8Array, done: (error?: Error | null) => void): void {
    const buffer = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    this.#port.write(buffer, (error) => done(error));
  }

  protected async closeResource(): Promise<void> {
    const port = this.#port;
    if (!port.isOpen) return;
    await waitFor<void>((resolve) => port.close(() => resolve()), { what: `closing ${this.path}`, timeoutMs: OS_CALL_TIMEOUT_MS }).catch(() => undefined);
  }

  #portClosed(error: Error | undefined): void {
    if (!this.isOpen) return; // our own close(), or already reported
    const cause = error ?? this.#lastError;
    const reason = cause ? ` (${cause.message})` : '';
    this.lost(new DisconnectedError(`port ${this.path} disconnected${reason}`, { cause, details: { path: this.path } }));
    // serialport closes the fd itself on a disconnect; make sure in any other case.
    if (this.#port.isOpen) closeQuietly(this.#port);
  }
}

/** Maps a `serialport` open failure to a one-line PortError naming the path. AtPkiErrors pass through. */
export function serialOpenError(error: unknown, path: string, baudRate?: number): AtPkiError {
  if (error instanceof AtPkiError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const fail = (text: string, reason: string): PortError => new PortError(text, { cause: error, details: { path, reason } });
  if (/Cannot lock port|Resource temporarily unavailable/i.test(message)) {
    return fail(`port ${path} is busy (locked by another process)`, 'busy');
  }
  if (/Device or resource busy|Access denied|Access is denied/i.test(message)) {
    return fail(`port ${path} is busy (opened exclusively by another process)`, 'busy');
  }
  if (/No such file or directory|File not found|cannot find the file|No such device/i.test(message)) {
    return fail(`no such port ${path}`, 'not-found');
  }
  if (/Permission denied|Operation not permitted/i.test(message)) {
    return fail(`permission denied opening ${path} (is your user in the dialout group?)`, 'permission');
  }
  if (/Inappropriate ioctl|Not a typewriter|Is a directory|Not a directory/i.test(message)) {
    return fail(`${path} is not a serial port`, 'not-a-tty');
  }
  if (/baud rate .*not supported|setting custom baud rate/i.test(message)) {
    return fail(`baud rate ${baudRate ?? '?'} is not supported by ${path}`, 'baud-rate');
  }
  return fail(`cannot open ${path}: ${message}`, 'other');
}

/** TIOCMSET fails with ENOTTY on ptys, EINVAL on some adapters: there are no lines to set. */
function hasNoModemLines(error: unknown): boolean {
  return !(error instanceof AtPkiError) && error instanceof Error && /Inappropriate ioctl|Not a typewriter|Invalid argument/i.test(error.message);
}

function closeQuietly(port: SerialPort): void {
  if (port.isOpen) port.close(() => undefined);
}
