import { AbortedError, AtPkiError, DisconnectedError, PortError } from '../errors.js';
import { throwIfAborted, waitFor } from './abortable.js';
import { assertBaudRate } from './base-transport.js';
import type { SerialLineOptions } from './serial-transport.js';
import type { OpenOptions, Transport, TransportFactory } from './transport.js';

/**
 * Turning a port argument into an open Transport.
 *
 * Accepted forms:
 * - an absolute path: `/dev/ttyUSB0`, `/dev/serial/by-id/usb-...` — taken literally (no query);
 * - `serial:///dev/ttyUSB0?baud=921600&dtr=0&rts=0&rtscts=0` (also `serial:/dev/ttyUSB0`);
 *   the path is percent-decoded;
 * - `tcp://host:port?baud=921600` (IPv6: `tcp://[::1]:3333`), a raw TCP serial server;
 * - `<scheme>:...` for a scheme registered with {@link registerTransportScheme} (`mock:` is plugged
 *   in by the CLI entry point; the library never imports the emulator);
 * - on Windows only: `COM3`, `\\.\COM12`, `serial:///COM3`. Elsewhere `COM3` is refused with a hint,
 *   as is a bare `ttyUSB0` (did you mean /dev/ttyUSB0?) — relative names are never guessed.
 *
 * `?baud=` in any URL (registered schemes included) overrides `options.baudRate`; query values
 * override `options.serial`. Unknown query parameters on `serial:`/`tcp:` are refused (PortError).
 */

export const DEFAULT_BAUD_RATE = 115200;
export const DEFAULT_OPEN_TIMEOUT_MS = 5000;

export interface OpenTransportOptions extends OpenOptions {
  /** Serial ports only: modem lines and flow control (see SerialLineOptions). URL query values win. */
  serial?: SerialLineOptions;
}

/** What a port argument designates, as {@link parseTransportUrl} understood it. */
export type TransportTarget =
  | { kind: 'serial'; path: string; baudRate?: number; line: SerialLineOptions }
  | { kind: 'tcp'; host: string; port: number; baudRate?: number }
  | { kind: 'scheme'; scheme: string; url: URL; baudRate?: number };

const BUILTIN_SCHEMES = new Set(['serial', 'tcp']);
const registry = new Map<string, TransportFactory>();
/** Factories registered with registerLazyTransportScheme: how to load their code. */
const loaders = new WeakMap<TransportFactory, () => Promise<unknown>>();

/**
 * Makes `<scheme>:...` URLs open through `factory` (e.g. `registerTransportScheme('mock', ...)`).
 * The factory gets the parsed URL and `{ baudRate, timeoutMs, signal }`; it should stop its work when
 * `signal` fires (timeout or caller abort; `signal.reason` is the TimeoutError/AbortedError).
 * Registering a scheme again replaces its factory. `serial` and `tcp` cannot be replaced.
 * Returns a function that removes this registration (no-op if it was replaced meanwhile).
 */
export function registerTransportScheme(scheme: string, factory: TransportFactory): () => void {
  const name = normalizeScheme(scheme);
  if (BUILTIN_SCHEMES.has(name)) throw new TypeError(`transport scheme '${name}:' is built in and cannot be replaced`);
  registry.set(name, factory);
  return () => {
    if (registry.get(name) === factory) registry.delete(name);
  };
}

/**
 * registerTransportScheme with the factory's code loaded when the first such port is opened, before
 * the open timeout starts (loading is not the port's open time). The CLI registers the emulator so.
 */
export function registerLazyTransportScheme(scheme: string, load: () => Promise<TransportFactory>): () => void {
  let loading: Promise<TransportFactory> | undefined;
  const loaded = (): Promise<TransportFactory> => (loading ??= load());
  const factory: TransportFactory = async (url, options) => (await loaded())(url, options);
  loaders.set(factory, loaded);
  return registerTransportScheme(scheme, factory);
}

/** The schemes usable right now, built-in first (`['serial', 'tcp', 'mock']`). */
export function transportSchemes(): string[] {
  return [...BUILTIN_SCHEMES, ...[...registry.keys()].sort()];
}

/** Parses a port argument without opening anything. Throws a PortError listing the accepted forms. */
export function parseTransportUrl(input: string): TransportTarget {
  const text = input.trim();
  if (text === '') throw unsupported(input, 'the port is empty');

  if (text.startsWith('/')) return { kind: 'serial', path: text, line: {} };
  if (isWindowsComName(text)) {
    if (process.platform === 'win32') return { kind: 'serial', path: text, line: {} };
    throw unsupported(input, `'${text}' is a Windows port name; on this system use a device path such as /dev/ttyUSB0`);
  }

  const schemeMatch = /^([a-z][a-z0-9+.-]+):/i.exec(text);
  if (!schemeMatch) {
    const hint = /^tty|^cu\./.test(text) ? `did you mean /dev/${text}?` : undefined;
    throw unsupported(input, hint);
  }
  const scheme = (schemeMatch[1] as string).toLowerCase();
  if (scheme !== 'serial' && scheme !== 'tcp' && !registry.has(scheme)) {
    const hint = /^[\w.-]+:\d+$/.test(text) ? `did you mean tcp://${text}?` : `unknown scheme '${scheme}:'`;
    throw unsupported(input, hint);
  }

  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw unsupported(input, 'it is not a valid URL');
  }
  const baudRate = parseBaud(url, input);

  if (scheme === 'serial') {
    checkQuery(url, input, ['baud', 'dtr', 'rts', 'rtscts']);
    if (url.host !== '') {
      throw unsupported(input, `serial URLs take an absolute path with three slashes: serial:///${url.host}${url.pathname}`);
    }
    let path: string;
    try {
      path = decodeURIComponent(url.pathname);
    } catch {
      throw unsupported(input, 'the path is not valid percent-encoding');
    }
    if (process.platform === 'win32' && isWindowsComName(path.slice(1))) path = path.slice(1);
    if (path === '' || path === '/') throw unsupported(input, 'the serial URL has no device path');
    const line: SerialLineOptions = {};
    for (const key of ['dtr', 'rts', 'rtscts'] as const) {
      const value = url.searchParams.get(key);
      if (value !== null) line[key] = parseBool(value, key, input);
    }
    return { kind: 'serial', path, ...(baudRate === undefined ? {} : { baudRate }), line };
  }

  if (scheme === 'tcp') {
    checkQuery(url, input, ['baud']);
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    if (host === '' || url.port === '' || url.port === '0') throw unsupported(input, 'tcp URLs need a host and a port: tcp://host:port');
    if (url.pathname !== '' && url.pathname !== '/') throw unsupported(input, 'tcp URLs take no path');
    if (url.username !== '' || url.password !== '') throw unsupported(input, 'tcp URLs take no user or password');
    return { kind: 'tcp', host, port: Number(url.port), ...(baudRate === undefined ? {} : { baudRate }) };
  }

  return { kind: 'scheme', scheme, url, ...(baudRate === undefined ? {} : { baudRate }) };
}

/**
 * Opens the transport for `urlOrPath` (see the accepted forms above). Defaults: 115200 baud, 5000 ms
 * open timeout. Rejects with a PortError when the port cannot be opened or the argument is wrong,
 * a TimeoutError when the open took longer than `timeoutMs`, an AbortedError when `signal` fired.
 * A port that finishes opening after a timeout/abort is closed again. `Transport.url` is `urlOrPath`
 * as given.
 *
 * Attach the `data` listener right after the promise resolves (before awaiting anything else): bytes
 * are not buffered for late listeners.
 */
export async function openTransport(urlOrPath: string, options: OpenTransportOptions = {}): Promise<Transport> {
  const target = parseTransportUrl(urlOrPath);
  const baudRate = target.baudRate ?? options.baudRate ?? DEFAULT_BAUD_RATE;
  assertBaudRate(baudRate);
  const timeoutMs = options.timeoutMs ?? DEFAULT_OPEN_TIMEOUT_MS;
  const what = `opening ${urlOrPath}`;
  throwIfAborted(options.signal, what);
  // Each transport's code is loaded when first needed (`serialport`, a native module, only for serial
  // ports), before the clock starts: on a busy machine a cold load takes longer than a port's open.
  const loading = transportCode(target);
  if (loading) {
    await loading;
    throwIfAborted(options.signal, what);
  }

  // The opener's own signal: fires on the caller's abort and on our timeout, so it can stop its work.
  const inner = new AbortController();
  const work = startOpen(target, urlOrPath, { baudRate, timeoutMs, signal: inner.signal, serial: options.serial });
  try {
    return await waitFor(work, {
      what,
      timeoutMs,
      signal: options.signal,
      onAbandon: (late) => void late.close().catch(() => undefined),
    });
  } catch (error) {
    inner.abort(error);
    throw error;
  }
}

async function startOpen(
  target: TransportTarget,
  url: string,
  options: { baudRate: number; timeoutMs: number; signal: AbortSignal; serial: SerialLineOptions | undefined },
): Promise<Transport> {
  const { baudRate, timeoutMs, signal } = options;
  switch (target.kind) {
    case 'serial': {
      const { SerialTransport } = await import('./serial-transport.js');
      return SerialTransport.open(target.path, { ...options.serial, ...target.line, baudRate, signal, url });
    }
    case 'tcp': {
      const { TcpTransport } = await import('./tcp-transport.js');
      return TcpTransport.open(target.host, target.port, { baudRate, signal, url });
    }
    case 'scheme': {
      const factory = registry.get(target.scheme);
      if (!factory) throw unsupported(url, `scheme '${target.scheme}:' is no longer registered`);
      try {
        return await factory(target.url, { baudRate, timeoutMs, signal });
      } catch (error) {
        throw fromFactoryError(error);
      }
    }
  }
}

/** Loading the code that opens `target`, if there is any to load (a factory registered as such is called at once). */
function transportCode(target: TransportTarget): Promise<unknown> | undefined {
  if (target.kind === 'serial') return import('./serial-transport.js');
  if (target.kind === 'tcp') return import('./tcp-transport.js');
  const factory = registry.get(target.scheme);
  return factory ? loaders.get(factory)?.() : undefined;
}

/**
 * A registered factory (the emulator, kept independent of this package) reports failures with the
 * same `code` strings as ours: turn them into our errors, so a bad `mock:` option or an emulator
 * that is already open is a PortError (exit 2) like any other port that cannot be used.
 */
function fromFactoryError(error: unknown): unknown {
  if (error instanceof AtPkiError || !(error instanceof Error)) return error;
  const code = (error as { code?: unknown }).code;
  if (code === 'PORT_UNAVAILABLE') return new PortError(error.message, { cause: error });
  if (code === 'DISCONNECTED') return new DisconnectedError(error.message, { cause: error });
  if (code === 'ABORTED') return new AbortedError(error.message, { cause: error });
  return error;
}

function normalizeScheme(scheme: string): string {
  const name = scheme.replace(/:$/, '').toLowerCase();
  if (!/^[a-z][a-z0-9+.-]+$/.test(name)) {
    throw new TypeError(`invalid transport scheme '${scheme}' (letters, digits, + . -; at least two characters)`);
  }
  return name;
}

function isWindowsComName(text: string): boolean {
  return /^(\\\\\.\\)?COM\d+$/i.test(text);
}

function parseBaud(url: URL, input: string): number | undefined {
  const value = url.searchParams.get('baud');
  if (value === null) return undefined;
  if (!/^\d+$/.test(value) || Number(value) <= 0) {
    throw new PortError(`invalid baud rate '${value}' in ${input}`, { details: { url: input, baudRate: value } });
  }
  return Number(value);
}

function parseBool(value: string, key: string, input: string): boolean {
  if (/^(1|true|on|yes)$/i.test(value)) return true;
  if (/^(0|false|off|no)$/i.test(value)) return false;
  throw new PortError(`invalid value '${value}' for ${key} in ${input} (use 0 or 1)`, { details: { url: input, [key]: value } });
}

function checkQuery(url: URL, input: string, accepted: string[]): void {
  for (const key of url.searchParams.keys()) {
    if (!accepted.includes(key)) {
      throw new PortError(`unknown option '${key}' in ${input} (accepted: ${accepted.join(', ')})`, { details: { url: input, option: key } });
    }
  }
}

function unsupported(input: string, hint?: string): PortError {
  const forms = ['a device path (/dev/ttyUSB0, /dev/serial/by-id/...)', 'serial:///dev/ttyUSB0?baud=921600', 'tcp://host:port'];
  if (process.platform === 'win32') forms.splice(1, 0, 'COM3');
  for (const scheme of registry.keys()) forms.push(`${scheme}:...`);
  const lead = `unsupported port '${input}'${hint ? ` (${hint})` : ''}`;
  return new PortError(`${lead}: use ${forms.join(', ')}`, { details: { url: input, accepted: forms } });
}
