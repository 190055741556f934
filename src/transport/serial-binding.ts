import { read as fsRead } from 'node:fs';
import { promisify } from 'node:util';
import { SerialPort } from 'serialport';

/**
 * The native serialport binding with one fix: a read of 0 bytes is end-of-file, i.e. the tty was
 * hung up (USB adapter unplugged, pty master closed), and is reported as an error so that
 * serialport's stream emits `close` with its DisconnectedError.
 *
 * Why: bindings-cpp 13.0.0's `unixRead` retries a 0-byte read immediately, forever
 * (serialport/bindings-cpp#162, open; fix PR #164 not merged). A hung-up tty always returns 0, so a
 * read that starts after the hang-up (instead of waiting in the poller, which does see it) spins
 * at 100 % CPU and the disconnect is never reported. Reproduced here with a pty whose master is
 * closed right after the open (test/transport/serial.test.ts). On a non-blocking tty with VMIN=1
 * (serialport's setting) an empty read is EAGAIN, never 0, so nothing healthy is affected.
 *
 * The replacement `read` is the same loop as bindings-cpp's `unixRead` (read, on EAGAIN wait for the
 * poller's `readable`, errors not marked `canceled` make the stream disconnect) plus the EOF rule.
 * It uses the port binding's public `fd` and `poller` fields; if they are not there (Windows, a
 * future binding), the port is left untouched.
 */

type Binding = typeof SerialPort.binding;

interface ReadResult {
  buffer: Buffer;
  bytesRead: number;
}

interface UnixPortBinding {
  fd: number | null;
  readonly isOpen: boolean;
  poller: { once(event: 'readable', callback: (error: Error | null) => void): unknown };
  read(buffer: Buffer, offset: number, length: number): Promise<ReadResult>;
}

const readAsync = promisify(fsRead);

/** `SerialPort.binding`, with opened ports' `read` replaced as described above (not on Windows). */
export function eofSafeBinding(base: Binding = SerialPort.binding): Binding {
  if (process.platform === 'win32') return base;
  const open = base.open as (options: unknown) => Promise<unknown>;
  const wrapped = {
    list: () => base.list(),
    async open(options: unknown): Promise<unknown> {
      const port = await open.call(base, options);
      if (isUnixPort(port)) port.read = eofSafeRead(port);
      return port;
    },
  };
  return wrapped as unknown as Binding;
}

function isUnixPort(port: unknown): port is UnixPortBinding {
  const candidate = port as Partial<UnixPortBinding> | null;
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.fd === 'number' &&
    typeof candidate.read === 'function' &&
    typeof candidate.poller?.once === 'function'
  );
}

function eofSafeRead(port: UnixPortBinding): UnixPortBinding['read'] {
  return async (buffer, offset, length) => {
    for (;;) {
      const fd = port.fd;
      if (!port.isOpen || fd === null) throw canceled();
      let bytesRead: number;
      try {
        ({ bytesRead } = await readAsync(fd, buffer, offset, length, null));
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code !== 'EAGAIN' && code !== 'EWOULDBLOCK' && code !== 'EINTR') throw error;
        if (!port.isOpen) throw canceled();
        await new Promise<void>((resolve, reject) => {
          port.poller.once('readable', (pollError) => (pollError ? reject(pollError) : resolve()));
        });
        continue;
      }
      if (bytesRead === 0) throw new Error('end of file: the device hung up');
      return { buffer, bytesRead };
    }
  };
}

/** What the stream ignores (our own close raced the read), like bindings-cpp's BindingsError. */
function canceled(): Error {
  return Object.assign(new Error('Port is not open'), { canceled: true });
}
