import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { DisconnectedError, PortError } from '../../src/errors.js';
import { openTransport } from '../../src/transport/open.js';
import { serialOpenError } from '../../src/transport/serial-transport.js';
import type { Transport } from '../../src/transport/transport.js';
import { openPtyPair, type PtyPair } from './support/pty.js';

/** Generous "does not hang" bound; no timing assertions. */
const NO_HANG_MS = 8000;

function within<T>(promise: Promise<T>, what: string, ms = NO_HANG_MS): Promise<T> {
  return Promise.race([promise, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`hung: ${what}`)), ms))]);
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});

async function pty(): Promise<PtyPair> {
  const pair = await openPtyPair();
  cleanups.push(() => pair.kill());
  return pair;
}

async function open(url: string): Promise<Transport> {
  const transport = await openTransport(url, { timeoutMs: NO_HANG_MS });
  cleanups.push(() => transport.close());
  return transport;
}

function collect(transport: Transport): (n: number) => Promise<Buffer> {
  const chunks: Buffer[] = [];
  let wake: (() => void) | undefined;
  transport.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    wake?.();
  });
  return (n) =>
    within(
      new Promise<Buffer>((resolve) => {
        const check = (): void => (Buffer.concat(chunks).length >= n ? resolve(Buffer.concat(chunks)) : void (wake = check));
        check();
      }),
      `${n} bytes from the pty`,
    );
}

function stty(path: string): string {
  return execFileSync('stty', ['-F', path, '-a'], { encoding: 'utf8' });
}

describe.runIf(process.platform === 'linux')('serial transport over a pty', () => {
  it('opens a path and moves bytes both ways, binary-safe, in raw 8N1 without flow control', async () => {
    const pair = await pty();
    const transport = await open(pair.path);
    expect(transport.isOpen).toBe(true);
    expect(transport.url).toBe(pair.path);
    expect(transport.baudRate).toBe(115200);
    const fromDevice = collect(transport);

    const payload = Buffer.from(Array.from({ length: 4096 }, (_, i) => i % 256));
    await transport.write(Buffer.from('AT\r\n'));
    await transport.write(new Uint8Array(payload.buffer, payload.byteOffset, payload.length));
    expect(await within(pair.waitForBytes(4 + payload.length), 'device receiving')).toEqual(Buffer.concat([Buffer.from('AT\r\n'), payload]));

    pair.send(Buffer.concat([Buffer.from('\r\nOK\r\n>'), Buffer.from([0, 0xff, 0x0a, 0x0d])]));
    expect(await fromDevice(11)).toEqual(Buffer.concat([Buffer.from('\r\nOK\r\n>'), Buffer.from([0, 0xff, 0x0a, 0x0d])]));

    const flags = stty(pair.path).split(/\s+/);
    expect(flags).toEqual(expect.arrayContaining(['cs8', '-parenb', '-cstopb', '-crtscts', '-ixon', '-ixoff', '-icanon', '-echo', '-opost']));
  });

  it('opens serial:// URLs with ?baud= and changes the rate with setBaudRate', async () => {
    const pair = await pty();
    const transport = await open(`serial://${pair.path}?baud=460800`);
    expect(transport.baudRate).toBe(460800);
    expect(stty(pair.path)).toMatch(/speed 460800 baud/);

    await transport.setBaudRate(921600);
    expect(transport.baudRate).toBe(921600);
    expect(stty(pair.path)).toMatch(/speed 921600 baud/);

    // Still moving bytes at the new rate.
    const fromDevice = collect(transport);
    await transport.write(Buffer.from('AT+GMR\r\n'));
    expect((await within(pair.waitForBytes(8), 'device receiving')).toString()).toBe('AT+GMR\r\n');
    pair.send('OK\r\n');
    expect((await fromDevice(4)).toString()).toBe('OK\r\n');

    await expect(transport.setBaudRate(1.5)).rejects.toBeInstanceOf(PortError);
    expect(transport.baudRate).toBe(921600);
  });

  it('refuses a second open of the same port as busy', async () => {
    const pair = await pty();
    await open(pair.path);
    const error = await within(openTransport(pair.path).catch((e: unknown) => e), 'second open');
    expect(error).toBeInstanceOf(PortError);
    expect((error as PortError).message).toBe(`port ${pair.path} is busy (locked by another process)`);
    expect((error as PortError).details).toMatchObject({ path: pair.path, reason: 'busy' });
  });

  it('releases the port on close(): it can be opened again', async () => {
    const pair = await pty();
    const first = await openTransport(pair.path);
    await within(first.close(), 'close');
    const second = await open(pair.path);
    expect(second.isOpen).toBe(true);
  });

  it('refuses a path that does not exist, and a file that is not a tty', async () => {
    const missing = '/dev/at-pki-no-such-port';
    const error = await within(openTransport(missing).catch((e: unknown) => e), 'missing open');
    expect(error).toBeInstanceOf(PortError);
    expect((error as PortError).message).toBe(`no such port ${missing}`);
    expect((error as PortError).exitCode).toBe(2);

    const devNull = await within(openTransport('/dev/null').catch((e: unknown) => e), '/dev/null open');
    expect(devNull).toBeInstanceOf(PortError);
    expect((devNull as PortError).message).toBe('/dev/null is not a serial port');
  });

  it('reports the far end going away as close(DisconnectedError); later writes reject promptly', async () => {
    const pair = await pty();
    const transport = await open(pair.path);
    const closed = once(transport, 'close');
    await pair.kill();
    const [error] = (await within(closed, 'close event')) as [unknown];
    expect(error).toBeInstanceOf(DisconnectedError);
    expect((error as DisconnectedError).message).toContain(pair.path);
    expect(transport.isOpen).toBe(false);

    const write = await within(transport.write(Buffer.from('AT\r\n')).catch((e: unknown) => e), 'write after disconnect');
    expect(write).toBeInstanceOf(DisconnectedError);
    await expect(within(transport.setBaudRate(9600), 'setBaudRate after disconnect')).rejects.toBeInstanceOf(DisconnectedError);
    await within(transport.close(), 'close after disconnect');
  });

  it('rejects a write that is blocked when the far end goes away (no hang)', async () => {
    const pair = await pty();
    const transport = await open(pair.path);
    const events: unknown[][] = [];
    transport.on('close', (...args: unknown[]) => events.push(args));
    pair.freeze(); // nobody reads the master any more: the pty fills up
    let settled = false;
    const write = transport.write(Buffer.alloc(1 << 20, 0x55)).finally(() => (settled = true));
    const outcome = write.catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 100));
    expect(settled).toBe(false); // 1 MiB cannot fit in a pty: it is really pending
    await pair.kill();
    expect(await within(outcome, 'pending write')).toBeInstanceOf(DisconnectedError);
    await within(
      new Promise<void>((resolve) => (events.length ? resolve() : transport.once('close', () => resolve()))),
      'close event',
    );
    expect(events).toHaveLength(1);
    expect(events[0]?.[0]).toBeInstanceOf(DisconnectedError);
  });

  it('rejects a blocked write on our own close(), emits close without an argument, once', async () => {
    const pair = await pty();
    const transport = await open(pair.path);
    const events: unknown[][] = [];
    transport.on('close', (...args: unknown[]) => events.push(args));
    pair.freeze();
    const outcome = transport.write(Buffer.alloc(1 << 20, 0xaa)).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 50));
    await within(Promise.all([transport.close(), transport.close()]), 'close with a pending write');
    expect(await within(outcome, 'pending write')).toBeInstanceOf(DisconnectedError);
    expect(events).toEqual([[]]);
    expect(transport.isOpen).toBe(false);
    await expect(within(transport.write(Buffer.from('x')), 'write after close')).rejects.toBeInstanceOf(DisconnectedError);
  });
});

describe('serialOpenError', () => {
  it('turns binding messages into one line naming the path', () => {
    const map = (message: string): PortError => serialOpenError(new Error(message), '/dev/ttyUSB0', 921600) as PortError;
    expect(map('Error: Permission denied, cannot open /dev/ttyUSB0').message).toBe('permission denied opening /dev/ttyUSB0 (is your user in the dialout group?)');
    expect(map('Error Device or resource busy Cannot open /dev/ttyUSB0').details).toMatchObject({ reason: 'busy' });
    expect(map('Error baud rate of 921600 is not supported on your platform').message).toBe('baud rate 921600 is not supported by /dev/ttyUSB0');
    expect(map('Error: Something odd').message).toBe('cannot open /dev/ttyUSB0: Error: Something odd');
    expect(map('x')).toBeInstanceOf(PortError);
  });
});
