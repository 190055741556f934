/**
 * A typed client for the daemon's API, over its unix socket or loopback TCP. Used by
 * `at-pki status --daemon` (and `at-pki update --daemon`). node:http only.
 *
 * Failures are AtPkiErrors, so the CLI reports them in one line with the usual exit codes:
 * - the daemon cannot be reached → PortError (exit 2);
 * - it refused the request (4xx) → InputError (exit 2), `details.status`, `details.apiCode` and the
 *   API's own details;
 * - it is shutting down (503) → PortError; any other 5xx or a garbled answer → ProtocolError (exit 1);
 * - no answer in `timeoutMs` → TimeoutError; the caller's signal fired → AbortedError.
 */
import { request, type IncomingMessage, type RequestOptions } from 'node:http';
import { AbortedError, AtPkiError, InputError, PortError, ProtocolError, TimeoutError } from '../errors.js';
import type { ApiErrorBody, EndEvent, JobEvent, JobRequest, JobView, PortPartitions, StationStatus } from './api-types.js';

export interface StationClientOptions {
  /** The daemon: its unix socket path (`/run/at-pki/api.sock`) or `http://127.0.0.1:PORT`. */
  daemon: string;
  /** Bearer token, needed on TCP. */
  token?: string;
  /** Time allowed for each request (not for event streams, which last as long as their job). @default 10000 */
  timeoutMs?: number;
}

export interface StreamOptions {
  signal?: AbortSignal;
}

const DEFAULT_TIMEOUT_MS = 10_000;

export class StationClient {
  readonly daemon: string;
  readonly #target: Pick<RequestOptions, 'socketPath' | 'host' | 'port'>;
  readonly #token: string | undefined;
  readonly #timeoutMs: number;

  constructor(options: StationClientOptions) {
    this.daemon = options.daemon;
    this.#token = options.token;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#target = parseDaemonAddress(options.daemon);
  }

  /** `GET /status`: ports, firmware, current jobs, queue lengths, uptime. */
  getStatus(): Promise<StationStatus> {
    return this.#json<StationStatus>('GET', '/status');
  }

  /** `POST /jobs`: resolves with the job's id once the daemon has journaled it. */
  submitJob(job: JobRequest): Promise<{ id: string }> {
    return this.#json<{ id: string }>('POST', '/jobs', job);
  }

  getJob(id: string): Promise<JobView> {
    return this.#json<JobView>('GET', `/jobs/${encodeURIComponent(id)}`);
  }

  /** Recent jobs, newest first. */
  async listJobs(): Promise<JobView[]> {
    return (await this.#json<{ jobs: JobView[] }>('GET', '/jobs')).jobs;
  }

  /** `DELETE /jobs/:id`: cancel a queued job (a running one is refused with details.status 409). */
  cancelJob(id: string): Promise<JobView> {
    return this.#json<JobView>('DELETE', `/jobs/${encodeURIComponent(id)}`);
  }

  getPartitions(port: string): Promise<PortPartitions> {
    return this.#json<PortPartitions>('GET', `/ports/${encodeURIComponent(port)}/partitions`);
  }

  /** The Prometheus text of `GET /metrics`. */
  async getMetrics(): Promise<string> {
    const { status, body } = await this.#send('GET', '/metrics');
    if (status !== 200) throw this.#failure(status, body);
    return body.toString('utf8');
  }

  /**
   * Follow `GET /jobs/:id/events`: calls `onEvent` for every event (past ones first), in order, and
   * resolves with the `end` event when the job is finished.
   */
  streamEvents(id: string, onEvent: (event: JobEvent) => void, options: StreamOptions = {}): Promise<EndEvent> {
    const path = `/jobs/${encodeURIComponent(id)}/events`;
    return new Promise<EndEvent>((resolve, reject) => {
      let settled = false;
      const finish = (error: Error | undefined, end?: EndEvent): void => {
        if (settled) return;
        settled = true;
        options.signal?.removeEventListener('abort', onAbort);
        if (error) {
          req.destroy();
          reject(error);
        } else resolve(end!);
      };
      const onAbort = (): void => finish(new AbortedError(`following the events of job ${id} aborted`, { cause: options.signal?.reason }));
      const req = request({ ...this.#target, method: 'GET', path, headers: this.#headers() }, (res) => {
        if (res.statusCode !== 200) {
          void readAll(res).then((body) => finish(this.#failure(res.statusCode ?? 0, body)), (error: Error) => finish(this.#unreachable(error)));
          return;
        }
        let buffered = '';
        res.setEncoding('utf8');
        res.on('data', (text: string) => {
          buffered += text;
          let newline: number;
          while (!settled && (newline = buffered.indexOf('\n')) >= 0) {
            const line = buffered.slice(0, newline);
            buffered = buffered.slice(newline + 1);
            if (line.trim() === '') continue;
            let event: JobEvent;
            try {
              event = JSON.parse(line) as JobEvent;
            } catch {
              finish(new ProtocolError(`the daemon sent a line that is not JSON in the events of job ${id}`));
              return;
            }
            try {
              onEvent(event);
            } catch (error) {
              finish(error instanceof Error ? error : new Error(String(error)));
              return;
            }
            if (event.type === 'end') finish(undefined, event);
          }
        });
        res.on('end', () => finish(new ProtocolError(`the event stream of job ${id} ended before the job did (daemon stopped?)`)));
        res.on('error', (error) => finish(this.#unreachable(error)));
      });
      req.on('error', (error) => finish(this.#unreachable(error)));
      if (options.signal?.aborted) onAbort();
      else options.signal?.addEventListener('abort', onAbort, { once: true });
      req.end();
    });
  }

  /** Submit a job and follow it to its end (convenience for `update --daemon`). */
  async runJob(job: JobRequest, onEvent: (event: JobEvent) => void = () => {}, options: StreamOptions = {}): Promise<{ id: string; end: EndEvent }> {
    const { id } = await this.submitJob(job);
    return { id, end: await this.streamEvents(id, onEvent, options) };
  }

  async #json<T>(method: string, path: string, payload?: unknown): Promise<T> {
    const { status, body } = await this.#send(method, path, payload);
    if (status < 200 || status >= 300) throw this.#failure(status, body);
    try {
      return JSON.parse(body.toString('utf8')) as T;
    } catch {
      throw new ProtocolError(`the daemon at ${this.daemon} answered ${method} ${path} with something that is not JSON`);
    }
  }

  #send(method: string, path: string, payload?: unknown): Promise<{ status: number; body: Buffer }> {
    const data = payload === undefined ? undefined : Buffer.from(JSON.stringify(payload), 'utf8');
    const headers = this.#headers();
    if (data) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = String(data.length);
    }
    return new Promise((resolve, reject) => {
      const req = request({ ...this.#target, method, path, headers }, (res) => {
        readAll(res).then((body) => resolve({ status: res.statusCode ?? 0, body }), (error: Error) => reject(this.#unreachable(error)));
      });
      req.setTimeout(this.#timeoutMs, () => {
        req.destroy(new TimeoutError(`the daemon at ${this.daemon} did not answer ${method} ${path} within ${this.#timeoutMs} ms`, { details: { timeoutMs: this.#timeoutMs } }));
      });
      req.on('error', (error) => reject(error instanceof AtPkiError ? error : this.#unreachable(error)));
      req.end(data);
    });
  }

  #headers(): Record<string, string> {
    return this.#token === undefined ? {} : { Authorization: `Bearer ${this.#token}` };
  }

  #unreachable(error: Error): PortError {
    const code = (error as { code?: unknown }).code;
    const hint = code === 'ENOENT' || code === 'ECONNREFUSED' ? ' (is it running? check --daemon)' : code === 'EACCES' ? ' (permission denied on the socket)' : '';
    return new PortError(`cannot reach the at-pki daemon at ${this.daemon}: ${error.message}${hint}`, { details: { daemon: this.daemon, ...(typeof code === 'string' ? { errno: code } : {}) } });
  }

  #failure(status: number, body: Buffer): AtPkiError {
    let error: ApiErrorBody | undefined;
    try {
      error = (JSON.parse(body.toString('utf8')) as { error?: ApiErrorBody }).error;
    } catch {
      // not JSON
    }
    const message = error?.message ?? `HTTP ${status}`;
    const details = { status, apiCode: error?.code ?? 'UNKNOWN', ...(error?.details ?? {}) };
    if (status >= 400 && status < 500) return new InputError(`the daemon refused the request: ${message}`, { details });
    if (status === 503) return new PortError(`the daemon is unavailable: ${message}`, { details });
    return new ProtocolError(`the daemon failed: ${message} (HTTP ${status})`, { details });
  }
}

/** `http://127.0.0.1:8080` → host/port; anything else is a unix socket path. */
export function parseDaemonAddress(daemon: string): Pick<RequestOptions, 'socketPath' | 'host' | 'port'> {
  if (/^https?:\/\//i.test(daemon)) {
    let url: URL;
    try {
      url = new URL(daemon);
    } catch {
      throw new InputError(`bad daemon address '${daemon}': use a socket path or http://127.0.0.1:PORT`);
    }
    if (url.protocol !== 'http:') throw new InputError(`bad daemon address '${daemon}': the daemon speaks plain HTTP on loopback (http://127.0.0.1:PORT)`);
    return { host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(url.port || 80) };
  }
  if (daemon.trim() === '') throw new InputError('the daemon address is empty: give its socket path or http://127.0.0.1:PORT');
  return { socketPath: daemon };
}

function readAll(res: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (chunk: Buffer) => chunks.push(chunk));
    res.on('end', () => resolve(Buffer.concat(chunks)));
    res.on('error', reject);
  });
}
