import { connect, type Socket } from 'node:net';
import { AtPkiError, DisconnectedError, PortError } from '../errors.js';
import { waitFor } from './abortable.js';
import { assertBaudRate, BaseTransport } from './base-transport.js';

/**
 * A raw TCP byte stream to a serial server (ser2net in raw mode, an ESP-Link, the emulator's TCP
 * listener...). Nagle is off (`setNoDelay`) because AT traffic is many small writes waiting for
 * answers. Keep-alive is on so a server that vanished without a FIN is noticed eventually.
 *
 * The line rate is the server's business: RFC 2217 (Telnet COM-PORT-OPTION, which would let us set
 * the remote UART's rate) is out of scope, so {@link setBaudRate} only records the value. Use a
 * server whose UART rate matches, or do not switch rates over TCP.
 */

export interface TcpOpenOptions {
  /** Recorded only (see above). */
  baudRate: number;
  /** Cancels the connect attempt (the socket is destroyed). Combine with a timeout. */
  signal?: AbortSignal;
  /** Shown in messages and as `Transport.url`. Default `tcp://host:port`. */
  url?: string;
}

const CLOSE_FLUSH_TIMEOUT_MS = 2000;
const KEEPALIVE_DELAY_MS = 10_000;

export class TcpTransport extends BaseTransport {
  readonly host: string;
  readonly port: number;
  readonly #socket: Socket;
  #lastError: Error | undefined;

  static async open(host: string, port: number, options: TcpOpenOptions): Promise<TcpTransport> {
    const url = options.url ?? `tcp://${host.includes(':') ? `[${host}]` : host}:${port}`;
    const socket = connect({ host, port });
    try {
      await waitFor<void>(
        (resolve, reject) => {
          socket.once('connect', resolve);
          socket.once('error', reject);
          return () => {
            socket.off('connect', resolve);
            socket.off('error', reject);
          };
        },
        { what: `connecting to ${host}:${port}`, signal: options.signal },
      );
    } catch (error) {
      socket.on('error', () => undefined); // destroy() may still report the pending connect
      socket.destroy();
      throw tcpConnectError(error, host, port);
    }
    socket.setNoDelay(true);
    socket.setKeepAlive(true, KEEPALIVE_DELAY_MS);
    return new TcpTransport(socket, host, port, url, options.baudRate);
  }

  private constructor(socket: Socket, host: string, port: number, url: string, baudRate: number) {
    super(url, baudRate);
    this.host = host;
    this.port = port;
    this.#socket = socket;
    socket.on('error', (error: Error) => {
      this.#lastError = error;
    });
    socket.on('data', (chunk: Buffer) => this.pushData(chunk));
    // The server closed its side: nothing more will come, treat it as gone (allowHalfOpen is off).
    socket.on('end', () => this.#remoteClosed('closed by the remote end'));
    socket.on('close', () => this.#remoteClosed('connection lost'));
  }

  /** Records the rate only; RFC 2217 is not implemented (see the file comment). */
  async setBaudRate(baudRate: number): Promise<void> {
    assertBaudRate(baudRate);
    if (!this.isOpen) throw this.closedError('set the baud rate');
    this.setCurrentBaudRate(baudRate);
  }

  protected writeBytes(data: Uint8Array, done: (error?: Error | null) => void): void {
    this.#socket.write(data, (error) => done(error));
  }

  protected async closeResource(): Promise<void> {
    const socket = this.#socket;
    if (!socket.destroyed) {
      // end() flushes what is queued and sends FIN; do not wait for the server's FIN.
      await waitFor<void>(
        (resolve) => {
          socket.end(() => resolve());
          socket.once('close', () => resolve());
        },
        { what: `closing ${this.url}`, timeoutMs: CLOSE_FLUSH_TIMEOUT_MS },
      ).catch(() => undefined);
    }
    socket.destroy();
  }

  #remoteClosed(what: string): void {
    if (!this.isOpen) return;
    const cause = this.#lastError;
    const reason = cause ? `${what}: ${cause.message}` : what;
    this.lost(new DisconnectedError(`${this.url} ${reason}`, { cause, details: { url: this.url } }));
    this.#socket.destroy();
  }
}

/** Maps a connect failure to a PortError naming the endpoint. AtPkiErrors (timeout, abort) pass through. */
export function tcpConnectError(error: unknown, host: string, port: number): AtPkiError {
  if (error instanceof AtPkiError) return error;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const message = error instanceof Error ? error.message : String(error);
  const endpoint = `${host}:${port}`;
  const fail = (text: string, reason: string): PortError => new PortError(text, { cause: error, details: { host, port, reason } });
  switch (code) {
    case 'ECONNREFUSED':
      return fail(`connection refused by ${endpoint} (is the serial server running?)`, 'refused');
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_NONAME':
      return fail(`unknown host ${host}`, 'unknown-host');
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EHOSTDOWN':
      return fail(`${endpoint} is unreachable`, 'unreachable');
    case 'ETIMEDOUT':
      return fail(`connection to ${endpoint} timed out`, 'timeout');
    default:
      return fail(`cannot connect to ${endpoint}: ${message}`, 'other');
  }
}
