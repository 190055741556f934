import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SerialPort } from 'serialport';
import { eofSafeBinding } from '../../src/transport/serial-binding.js';

type Binding = typeof SerialPort.binding;

/** A stand-in for bindings-cpp's port binding, on any fd. */
function fakePort(fd: number) {
  const waiting: Array<(error: Error | null) => void> = [];
  return {
    fd: fd as number | null,
    get isOpen() {
      return this.fd !== null;
    },
    poller: {
      once(_event: 'readable', callback: (error: Error | null) => void) {
        waiting.push(callback);
        return this;
      },
    },
    read: async (): Promise<never> => {
      throw new Error('original read must have been replaced');
    },
    waiting,
  };
}

async function openThrough(port: ReturnType<typeof fakePort>) {
  const base = { list: async () => [], open: async () => port } as unknown as Binding;
  const opened = (await (eofSafeBinding(base).open as (o: unknown) => Promise<unknown>)({})) as ReturnType<typeof fakePort>;
  expect(opened).toBe(port);
  return opened as unknown as { read(b: Buffer, o: number, l: number): Promise<{ bytesRead: number }>; fd: number | null };
}

describe.runIf(process.platform !== 'win32')('eofSafeBinding', () => {
  it('turns a 0-byte read (hung-up tty) into an error instead of spinning', async () => {
    const fd = openSync('/dev/null', 'r'); // always at end of file, like a hung-up tty
    try {
      const port = await openThrough(fakePort(fd));
      const error = await port.read(Buffer.alloc(16), 0, 16).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).message).toContain('hung up');
      expect((error as { canceled?: boolean }).canceled).toBeUndefined(); // the stream must disconnect on it
    } finally {
      closeSync(fd);
    }
  });

  it('waits for the poller on EAGAIN, then returns the bytes', async () => {
    // A FIFO opened read-write and non-blocking: empty reads are EAGAIN, like an idle tty.
    const dir = mkdtempSync(join(tmpdir(), 'at-pki-fifo-'));
    const path = join(dir, 'fifo');
    execFileSync('mkfifo', [path]);
    const fd = openSync(path, constants.O_RDWR | constants.O_NONBLOCK);
    try {
      const fake = fakePort(fd);
      const port = await openThrough(fake);
      const buffer = Buffer.alloc(16);
      const pending = port.read(buffer, 0, 16);
      await new Promise<void>((resolve) => {
        const check = (): void => (fake.waiting.length > 0 ? resolve() : void setTimeout(check, 1));
        check();
      });
      writeSync(fd, 'OK\r\n');
      fake.waiting.shift()?.(null);
      const { bytesRead } = await pending;
      expect(buffer.subarray(0, bytesRead).toString()).toBe('OK\r\n');
    } finally {
      closeSync(fd);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports a read after close as canceled (ignored by the stream)', async () => {
    const fake = fakePort(0);
    const port = await openThrough(fake);
    fake.fd = null;
    const error = await port.read(Buffer.alloc(1), 0, 1).catch((e: unknown) => e);
    expect((error as { canceled?: boolean }).canceled).toBe(true);
  });
});
