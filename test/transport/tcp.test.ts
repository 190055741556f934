import { once } from 'node:events';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { AbortedError, DisconnectedError, PortError } from '../../src/errors.js';
import { openTransport } from '../../src/transport/open.js';
import { tcpConnectError } from '../../src/transport/tcp-transport.js';
import type { Transport } from '../../src/transport/transport.js';

/** Generous "does not hang" bound; no timing assertions. */
const NO_HANG_MS = 5000;

function within<T>(promise: Promise<T>, what: string, ms = NO_HANG_MS): Promise<T> {
  return Promise.race([promise, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`hung: ${what}`)), ms))]);
}

interface Peer {
  server: Server;
  url: string;
  accepted: Promise<Socket>;
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});

async function startServer(): Promise<Peer> {
  const server = createServer();
  const sockets: Socket[] = [];
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
  server.on('connection', (s) => sockets.push(s));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  });
  const { port } = server.address() as AddressInfo;
  return { server, url: `tcp://127.0.0.1:${port}`, accepted };
}

async function open(url: string): Promise<Transport> {
  const transport = await openTransport(url, { timeoutMs: NO_HANG_MS });
  cleanups.push(() => transport.close());
  return transport;
}

function collect(transport: Transport): { bytes: () => Buffer; until: (n: number) => Promise<Buffer> } {
  const chunks: Buffer[] = [];
  let wake: (() => void) | undefined;
  transport.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    wake?.();
  });
  const bytes = (): Buffer => Buffer.concat(chunks);
  return {
    bytes,
    until: (n) =>
      within(
        new Promise<Buffer>((resolve) => {
          const check = (): void => (bytes().length >= n ? resolve(bytes()) : void (wake = check));
          check();
        }),
        `${n} bytes`,
      ),
  };
}

describe('TCP transport', () => {
  it('moves bytes both ways, binary-safe', async () => {
    const peer = await startServer();
    const transport = await open(`${peer.url}?baud=921600`);
    expect(transport.isOpen).toBe(true);
    expect(transport.baudRate).toBe(921600);
    const server = await peer.accepted;
    const fromServer = collect(transport);

    const payload = Buffer.from(Array.from({ length: 4096 }, (_, i) => i % 256));
    const serverGot: Buffer[] = [];
    server.on('data', (c: Buffer) => serverGot.push(c));
    await transport.write(Buffer.from('AT\r\n'));
    await transport.write(payload);
    await within(
      new Promise<void>((resolve) => {
        const check = (): void => (Buffer.concat(serverGot).length >= 4 + payload.length ? resolve() : void setTimeout(check, 5));
        check();
      }),
      'server receiving',
    );
    expect(Buffer.concat(serverGot)).toEqual(Buffer.concat([Buffer.from('AT\r\n'), payload]));

    server.write('\r\nOK\r\n>');
    server.write(Buffer.from([0, 0xff, 0x0d]));
    expect(await fromServer.until(10)).toEqual(Buffer.concat([Buffer.from('\r\nOK\r\n>'), Buffer.from([0, 0xff, 0x0d])]));
  });

  it('reports a remote close as close(DisconnectedError) and rejects later writes promptly', async () => {
    const peer = await startServer();
    const transport = await open(peer.url);
    const server = await peer.accepted;
    const closed = once(transport, 'close');
    server.end();
    const [error] = (await within(closed, 'close event')) as [unknown];
    expect(error).toBeInstanceOf(DisconnectedError);
    expect((error as DisconnectedError).code).toBe('DISCONNECTED');
    expect(transport.isOpen).toBe(false);

    const write = await within(transport.write(Buffer.from('AT\r\n')).catch((e: unknown) => e), 'write after close');
    expect(write).toBeInstanceOf(DisconnectedError);
    await expect(transport.setBaudRate(9600)).rejects.toBeInstanceOf(DisconnectedError);
    await within(transport.close(), 'close after disconnect'); // idempotent, no second event
  });

  it('reports a connection reset the same way', async () => {
    const peer = await startServer();
    const transport = await open(peer.url);
    const server = await peer.accepted;
    const closed = once(transport, 'close');
    server.resetAndDestroy();
    const [error] = (await within(closed, 'close event')) as [unknown];
    expect(error).toBeInstanceOf(DisconnectedError);
  });

  it('emits close without an argument after our own close(), once, and rejects writes after it', async () => {
    const peer = await startServer();
    const transport = await open(peer.url);
    const server = await peer.accepted;
    const events: unknown[][] = [];
    transport.on('close', (...args: unknown[]) => events.push(args));
    const serverEnded = once(server, 'end');
    await within(Promise.all([transport.close(), transport.close()]), 'close');
    await within(serverEnded, 'server sees FIN');
    expect(events).toEqual([[]]);
    expect(transport.isOpen).toBe(false);
    await expect(transport.write(Buffer.from('x'))).rejects.toBeInstanceOf(DisconnectedError);
  });

  it('records setBaudRate without touching the line', async () => {
    const peer = await startServer();
    const transport = await open(peer.url);
    await transport.setBaudRate(460800);
    expect(transport.baudRate).toBe(460800);
    await expect(transport.setBaudRate(0)).rejects.toBeInstanceOf(PortError);
  });

  it('maps a refused connection to a PortError naming the endpoint', async () => {
    const peer = await startServer();
    const url = peer.url;
    await new Promise((r) => peer.server.close(r));
    const error = await within(openTransport(url).catch((e: unknown) => e), 'refused open');
    expect(error).toBeInstanceOf(PortError);
    expect((error as PortError).message).toContain('connection refused');
    expect((error as PortError).message).toContain(url.slice('tcp://'.length));
    expect((error as PortError).exitCode).toBe(2);
  });

  it('maps resolver and routing failures to PortErrors (no DNS needed)', () => {
    const errno = (code: string): NodeJS.ErrnoException => Object.assign(new Error(`getaddrinfo ${code} x`), { code });
    expect(tcpConnectError(errno('ENOTFOUND'), 'nohost', 1).message).toBe('unknown host nohost');
    expect(tcpConnectError(errno('EAI_AGAIN'), 'nohost', 1)).toBeInstanceOf(PortError);
    expect(tcpConnectError(errno('EHOSTUNREACH'), '10.0.0.9', 23).message).toBe('10.0.0.9:23 is unreachable');
    expect(tcpConnectError(errno('EWHATEVER'), 'h', 2).message).toContain('cannot connect to h:2');
    const aborted = new AbortedError('x');
    expect(tcpConnectError(aborted, 'h', 2)).toBe(aborted);
  });

  it('aborts a connect in flight (AbortedError) and closes the socket', async () => {
    const peer = await startServer();
    const controller = new AbortController();
    const pending = openTransport(peer.url, { signal: controller.signal });
    controller.abort();
    await expect(within(pending, 'aborted open')).rejects.toBeInstanceOf(AbortedError);
  });
});
