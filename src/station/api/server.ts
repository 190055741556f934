/**
 * Where the API listens: a unix socket (mode 0600 — file permissions are the access control) and,
 * optionally, a loopback TCP port on which every request needs `Authorization: Bearer <token>`,
 * except the operator page's own routes, which a browser opens with the page cookie (page-auth.ts).
 *
 * A socket file left behind by a daemon that died is removed; one that still answers means another
 * daemon is running, and starting fails. A path that exists but is not a socket is never removed.
 */
import { lstat, chmod, unlink } from 'node:fs/promises';
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { PortError } from '../../errors.js';
import { RequestError } from '../errors.js';
import { pageHeaders, UNAUTHORIZED_CSP, UNAUTHORIZED_PAGE } from '../page/operator-page.js';
import { sendError } from './http.js';
import { PageAuth } from './page-auth.js';
import type { RequestHandler } from './router.js';

/** What a client may take of a listener: time for its request, idle time, connections (config `api.*`). */
export interface ClientLimits {
  headersTimeoutMs: number;
  /** The whole request, body included: a client trickling its body is cut off too. */
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  /** Per listener. */
  maxConnections: number;
}

export interface ApiServerOptions {
  socket?: string;
  tcp?: { host: string; port: number };
  /** Required on TCP. */
  token?: string;
  handler: RequestHandler;
  limits: ClientLimits;
  /** A connection was closed at once because maxConnections were open. */
  onDrop?: () => void;
}

export class ApiServer {
  readonly #servers: Server[];
  readonly socketPath: string | undefined;
  /** The TCP address actually bound (port 0 picks one). */
  readonly tcpAddress: { host: string; port: number } | undefined;

  private constructor(servers: Server[], socketPath: string | undefined, tcpAddress: { host: string; port: number } | undefined) {
    this.#servers = servers;
    this.socketPath = socketPath;
    this.tcpAddress = tcpAddress;
  }

  static async listen(options: ApiServerOptions): Promise<ApiServer> {
    const servers: Server[] = [];
    try {
      let socketPath: string | undefined;
      if (options.socket !== undefined) {
        await clearStaleSocket(options.socket);
        const server = limitedServer(options, (req, res) => void options.handler(req, res));
        servers.push(server);
        await listenOnSocket(server, options.socket);
        socketPath = options.socket;
      }
      let tcpAddress: { host: string; port: number } | undefined;
      if (options.tcp) {
        const token = options.token;
        if (token === undefined) throw new PortError('a TCP listener needs a token');
        // Set once the port is known (the cookie's name carries it), before the first request.
        let auth: PageAuth | undefined;
        const server = limitedServer(options, (req, res) => {
          if (auth) authorize(auth, req, res, options.handler);
          else sendError(res, new RequestError(503, 'STARTING', 'the daemon is starting'));
        });
        servers.push(server);
        tcpAddress = await listenOnTcp(server, options.tcp.host, options.tcp.port);
        auth = new PageAuth(token, tcpAddress.port);
      }
      return new ApiServer(servers, socketPath, tcpAddress);
    } catch (error) {
      await Promise.all(servers.map((server) => closeServer(server)));
      throw error;
    }
  }

  /** Stop listening, drop open connections (event streams included), remove the socket file. */
  async close(): Promise<void> {
    await Promise.all(this.#servers.map((server) => closeServer(server)));
    if (this.socketPath) await unlink(this.socketPath).catch(() => {});
  }
}

/**
 * node:http with the client limits. Node enforces the header and request timeouts when it checks
 * its connections (every 30 s by default): check often enough for the configured limits to mean
 * what they say. A request is handled only once its headers are in, and POST /jobs reads its whole
 * body before anything takes the journal or a port's queue, so a slow client holds only its own
 * connection, and not for longer than requestTimeoutMs.
 */
function limitedServer({ limits, onDrop }: Pick<ApiServerOptions, 'limits' | 'onDrop'>, listener: RequestListener): Server {
  const server = createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      connectionsCheckingInterval: Math.min(1000, Math.max(50, Math.floor(limits.headersTimeoutMs / 4))),
    },
    listener,
  );
  server.maxConnections = limits.maxConnections;
  if (onDrop) server.on('drop', onDrop);
  return server;
}

async function clearStaleSocket(path: string): Promise<void> {
  let info;
  try {
    info = await lstat(path);
  } catch {
    return;
  }
  if (!info.isSocket()) throw new PortError(`${path} exists and is not a socket; refusing to replace it (api.socket)`, { details: { path } });
  const alive = await new Promise<boolean>((resolve) => {
    const probe = connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (alive) throw new PortError(`another daemon is listening on ${path}`, { details: { path } });
  await unlink(path);
}

async function listenOnSocket(server: Server, path: string): Promise<void> {
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // The socket file is created with the process umask: make it 0600 from the start (no window in
      // which another user could connect). bind() happens synchronously inside listen(), so the umask
      // is restored before anything else in the process runs; chmod as well for odd file systems.
      const previous = process.umask(0o177);
      try {
        server.listen(path, () => {
          server.off('error', reject);
          resolve();
        });
      } finally {
        process.umask(previous);
      }
    });
  } catch (error) {
    throw new PortError(`cannot listen on ${path}: ${(error as Error).message}`, { details: { path } });
  }
  await chmod(path, 0o600);
}

async function listenOnTcp(server: Server, host: string, port: number): Promise<{ host: string; port: number }> {
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    throw new PortError(`cannot listen on ${host}:${port}: ${(error as Error).message}`, { details: { host, port } });
  }
  const address = server.address();
  return { host, port: typeof address === 'object' && address ? address.port : port };
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** A TCP request: let it through, log a browser in (303 + cookie), or refuse it (401). */
function authorize(auth: PageAuth, req: IncomingMessage, res: ServerResponse, handler: RequestHandler): void {
  let url: URL | undefined;
  try {
    url = new URL(req.url ?? '/', 'http://station');
  } catch {
    url = undefined;
  }
  const path = url?.pathname ?? '';
  const access = url ? auth.check(req, path, url.searchParams) : 'none';
  if (access === 'bearer' || access === 'cookie') {
    void handler(req, res);
  } else if (access === 'login') {
    res.writeHead(303, auth.loginHeaders());
    res.end();
  } else if (req.method === 'GET' && path === '/') {
    res.writeHead(401, { ...pageHeaders(UNAUTHORIZED_CSP), 'WWW-Authenticate': 'Bearer' });
    res.end(UNAUTHORIZED_PAGE);
  } else {
    sendError(res, new RequestError(401, 'UNAUTHORIZED', 'send Authorization: Bearer <token> (api.token of the daemon)'));
  }
}
