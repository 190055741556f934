/**
 * Expose an emulator's UART as a raw TCP socket (like a serial-to-TCP bridge): bytes pass
 * unchanged both ways, one client at a time (a second connection is closed at once), and a
 * client that disconnects leaves the module running — mid-command state included.
 * An unpowered emulator is powered on (and prints `ready`) when a client connects.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { EspAtEmulator } from './emulator.js';

export interface ServeTcpOptions {
  /** Interface to listen on. Default `127.0.0.1`. */
  host?: string;
  /** Port; 0 picks a free one. Default 0. */
  port?: number;
}

export interface TcpServerHandle {
  /** `tcp://<host>:<port>` */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** Whether a client is connected right now. */
  readonly hasClient: boolean;
  /** Stop listening and drop the client. Idempotent. */
  close(): Promise<void>;
}

export async function serveTcp(emulator: EspAtEmulator, options: ServeTcpOptions = {}): Promise<TcpServerHandle> {
  const host = options.host ?? '127.0.0.1';
  let client: Socket | undefined;
  let closed = false;

  const onData = (chunk: Buffer): void => {
    // No client: the bytes go nowhere, as on a UART nobody listens to.
    if (client && !client.destroyed) client.write(chunk);
  };
  const onUnplug = (): void => {
    client?.destroy();
  };

  const server: Server = createServer((socket) => {
    if (client) {
      socket.destroy();
      return;
    }
    client = socket;
    socket.setNoDelay(true);
    // An unpowered module (fresh, or unplugged earlier) is powered by the connection, so the
    // client sees its `ready`; a running one just carries on.
    emulator.powerOn({ announce: true });
    socket.on('data', (chunk: Buffer) => emulator.receive(chunk));
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      if (client === socket) client = undefined;
    });
  });

  emulator.on('data', onData);
  emulator.on('unplug', onUnplug);

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : (options.port ?? 0);

  return {
    url: `tcp://${host}:${port}`,
    host,
    port,
    get hasClient() {
      return client !== undefined;
    },
    close: async () => {
      if (closed) return;
      closed = true;
      emulator.off('data', onData);
      emulator.off('unplug', onUnplug);
      client?.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
