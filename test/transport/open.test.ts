import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { AbortedError, PortError, TimeoutError } from '../../src/errors.js';
import {
  DEFAULT_BAUD_RATE,
  DEFAULT_OPEN_TIMEOUT_MS,
  openTransport,
  parseTransportUrl,
  registerLazyTransportScheme,
  registerTransportScheme,
  transportSchemes,
} from '../../src/transport/open.js';
import type { Transport, TransportFactory } from '../../src/transport/transport.js';

const disposers: Array<() => void> = [];
afterEach(() => {
  while (disposers.length) disposers.pop()?.();
});
function register(scheme: string, factory: TransportFactory): void {
  disposers.push(registerTransportScheme(scheme, factory));
}

function portError(fn: () => unknown): PortError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(PortError);
    return error as PortError;
  }
  throw new Error('expected a PortError');
}

/** A do-nothing transport for factory tests. */
class FakeTransport extends EventEmitter implements Transport {
  isOpen = true;
  closed = 0;
  constructor(readonly url: string, readonly baudRate: number) {
    super();
  }
  async write(): Promise<void> {}
  async setBaudRate(): Promise<void> {}
  async close(): Promise<void> {
    this.closed++;
    this.isOpen = false;
  }
}

describe('parseTransportUrl', () => {
  it('takes absolute paths literally as serial ports', () => {
    expect(parseTransportUrl('/dev/ttyUSB0')).toEqual({ kind: 'serial', path: '/dev/ttyUSB0', line: {} });
    expect(parseTransportUrl('/dev/serial/by-id/usb-Silicon_Labs_CP2102-if00-port0')).toMatchObject({
      kind: 'serial',
      path: '/dev/serial/by-id/usb-Silicon_Labs_CP2102-if00-port0',
    });
  });

  it('parses serial: URLs with baud and line options', () => {
    expect(parseTransportUrl('serial:///dev/ttyUSB0?baud=921600')).toEqual({ kind: 'serial', path: '/dev/ttyUSB0', baudRate: 921600, line: {} });
    expect(parseTransportUrl('serial:/dev/ttyACM1?dtr=1&rts=0&rtscts=true')).toEqual({
      kind: 'serial',
      path: '/dev/ttyACM1',
      line: { dtr: true, rts: false, rtscts: true },
    });
    expect(parseTransportUrl('SERIAL:///dev/my%20port')).toMatchObject({ path: '/dev/my port' });
  });

  it('refuses malformed serial URLs with a hint', () => {
    expect(portError(() => parseTransportUrl('serial://dev/ttyUSB0')).message).toContain('serial:///dev/ttyUSB0');
    expect(portError(() => parseTransportUrl('serial:///dev/ttyUSB0?baudrate=9600')).message).toContain("unknown option 'baudrate'");
    expect(portError(() => parseTransportUrl('serial:///dev/ttyUSB0?baud=fast')).message).toContain("invalid baud rate 'fast'");
    expect(portError(() => parseTransportUrl('serial:///dev/ttyUSB0?dtr=maybe')).message).toContain('dtr');
    portError(() => parseTransportUrl('serial:///'));
  });

  it('parses tcp: URLs', () => {
    expect(parseTransportUrl('tcp://localhost:3333')).toEqual({ kind: 'tcp', host: 'localhost', port: 3333 });
    expect(parseTransportUrl('tcp://192.168.1.20:4000?baud=460800')).toEqual({ kind: 'tcp', host: '192.168.1.20', port: 4000, baudRate: 460800 });
    expect(parseTransportUrl('tcp://[::1]:23')).toEqual({ kind: 'tcp', host: '::1', port: 23 });
    expect(portError(() => parseTransportUrl('tcp://localhost')).message).toContain('tcp://host:port');
    portError(() => parseTransportUrl('tcp://localhost:3333/path'));
    portError(() => parseTransportUrl('tcp://localhost:3333?dtr=1'));
  });

  it('refuses anything else with a message listing the accepted forms', () => {
    for (const input of ['', 'ttyUSB0', 'foo://bar', 'http://example.com', 'localhost:3333', 'C:\\port']) {
      const error = portError(() => parseTransportUrl(input));
      expect(error.message).toContain('/dev/ttyUSB0');
      expect(error.message).toContain('tcp://host:port');
      expect(error.code).toBe('PORT_UNAVAILABLE');
      expect(error.exitCode).toBe(2);
    }
    expect(portError(() => parseTransportUrl('ttyUSB0')).message).toContain('did you mean /dev/ttyUSB0?');
    expect(portError(() => parseTransportUrl('localhost:3333')).message).toContain('did you mean tcp://localhost:3333?');
  });

  it.runIf(process.platform !== 'win32')('refuses Windows COM names on this system with a hint', () => {
    expect(portError(() => parseTransportUrl('COM3')).message).toContain('Windows port name');
  });

  it('knows registered schemes, and forgets them when unregistered', () => {
    portError(() => parseTransportUrl('mock://esp32c3'));
    const unregister = registerTransportScheme('mock:', async (url) => new FakeTransport(url.href, 1));
    try {
      const target = parseTransportUrl('mock://esp32c3?baud=921600&latency=5');
      expect(target).toMatchObject({ kind: 'scheme', scheme: 'mock', baudRate: 921600 });
      expect(target.kind === 'scheme' && target.url.searchParams.get('latency')).toBe('5');
      expect(transportSchemes()).toEqual(['serial', 'tcp', 'mock']);
      expect(portError(() => parseTransportUrl('nope:x')).message).toContain('mock:...');
    } finally {
      unregister();
    }
    portError(() => parseTransportUrl('mock://esp32c3'));
  });
});

describe('registerLazyTransportScheme', () => {
  it('loads the factory once, when the first such port is opened, and not on the open timeout', async () => {
    let loads = 0;
    disposers.push(
      registerLazyTransportScheme('lazy', async () => {
        loads++;
        // Longer than the open timeout below: loading code is not the port's open time.
        await new Promise((resolve) => setTimeout(resolve, 600));
        return async (url) => new FakeTransport(url.href, 1);
      }),
    );
    expect(loads).toBe(0);
    expect(transportSchemes()).toContain('lazy');
    const first = await openTransport('lazy:one', { timeoutMs: 300 });
    const second = await openTransport('lazy:two', { timeoutMs: 300 });
    expect([first.url, second.url, loads]).toEqual(['lazy:one', 'lazy:two', 1]);
    await Promise.all([first.close(), second.close()]);
  });
});

describe('registerTransportScheme', () => {
  it('refuses built-in and invalid scheme names', () => {
    expect(() => registerTransportScheme('tcp', async () => new FakeTransport('x', 1))).toThrow(TypeError);
    expect(() => registerTransportScheme('serial:', async () => new FakeTransport('x', 1))).toThrow(TypeError);
    expect(() => registerTransportScheme('no spaces', async () => new FakeTransport('x', 1))).toThrow(TypeError);
  });

  it('replaces a factory, and a stale unregister does not remove the replacement', async () => {
    const first = registerTransportScheme('dup', async () => new FakeTransport('first', 1));
    register('dup', async () => new FakeTransport('second', 1));
    first();
    const transport = await openTransport('dup:x');
    expect(transport.url).toBe('second');
  });
});

describe('openTransport with a registered scheme', () => {
  it('passes the URL, baud rate (query wins over options) and timeout to the factory', async () => {
    const calls: Array<{ url: string; baudRate: number; timeoutMs: number; signal: AbortSignal | undefined }> = [];
    register('fake', async (url, options) => {
      calls.push({ url: url.href, ...options });
      return new FakeTransport(url.href, options.baudRate);
    });
    await openTransport('fake://a');
    await openTransport('fake://b', { baudRate: 9600, timeoutMs: 1234 });
    await openTransport('fake://c?baud=921600', { baudRate: 9600 });
    expect(calls.map(({ url, baudRate, timeoutMs }) => ({ url, baudRate, timeoutMs }))).toEqual([
      { url: 'fake://a', baudRate: DEFAULT_BAUD_RATE, timeoutMs: DEFAULT_OPEN_TIMEOUT_MS },
      { url: 'fake://b', baudRate: 9600, timeoutMs: 1234 },
      { url: 'fake://c?baud=921600', baudRate: 921600, timeoutMs: DEFAULT_OPEN_TIMEOUT_MS },
    ]);
    expect(calls.every((c) => c.signal instanceof AbortSignal)).toBe(true);
  });

  it('times out, tells the factory through its signal, and closes a transport that opens late', async () => {
    let factorySignal: AbortSignal | undefined;
    let finish!: () => void;
    const late = new FakeTransport('late', 1);
    register('slow', (_url, { signal }) => {
      factorySignal = signal;
      return new Promise((resolve) => (finish = () => resolve(late)));
    });
    const error = await openTransport('slow:x', { timeoutMs: 20 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as TimeoutError).message).toContain('opening slow:x');
    expect(factorySignal?.aborted).toBe(true);
    expect(factorySignal?.reason).toBe(error);
    finish();
    await new Promise((r) => setImmediate(r));
    expect(late.closed).toBe(1);
  });

  it('honours the caller signal, before and during the open', async () => {
    let called = 0;
    register('hang', () => {
      called++;
      return new Promise(() => undefined);
    });
    const controller = new AbortController();
    controller.abort();
    await expect(openTransport('hang:x', { signal: controller.signal })).rejects.toBeInstanceOf(AbortedError);
    expect(called).toBe(0);

    const during = new AbortController();
    const pending = openTransport('hang:x', { signal: during.signal });
    during.abort();
    await expect(pending).rejects.toBeInstanceOf(AbortedError);
    expect(called).toBe(1);
  });

  it('passes factory errors through, including synchronous throws', async () => {
    const boom = new PortError('mock device not found');
    register('bad', () => {
      throw boom;
    });
    await expect(openTransport('bad:x')).rejects.toBe(boom);
  });

  it('refuses an invalid baud rate in the options', async () => {
    register('fake2', async (url) => new FakeTransport(url.href, 1));
    await expect(openTransport('fake2:x', { baudRate: -5 })).rejects.toBeInstanceOf(PortError);
  });
});
