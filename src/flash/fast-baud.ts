import { AbortedError, AtPkiError, DeviceError, DisconnectedError, UsageError } from '../errors.js';
import { delay } from '../transport/abortable.js';
import { ignoreEvents, type EventSink } from './events.js';
import type { EspAtModule } from './module.js';

/**
 * `--fast-baud`: run a transfer at a higher line rate than the module boots with, then go back.
 *
 * Protocol (doc §4): `AT+UART_CUR=<baud>,<data>,<stop>,<parity>,<flow>` changes the module's UART in
 * RAM only; the module sends its `OK` at the **old** rate, waits for it to leave the wire, then
 * switches. So the host changes its own rate only after it has read that OK. By then the host has
 * nothing left to send either: the session sends one command at a time and the module has answered
 * the last one, so every byte we wrote has been received (serialport's update() flushes both
 * directions, so this ordering matters). Then one `AT` at the new rate proves both ends agree.
 *
 * Failures:
 * - the host port cannot do the rate (checked first, before the module is asked) or the module
 *   answers ERROR (rate out of its range): a warning, and the work runs at the original rate;
 * - the module does not answer at the new rate: both ends go back to the original rate (the module
 *   with AT+UART_CUR sent at the new rate, in case it did switch) and the work runs there;
 * - whatever happens in the work (error, timeout, Ctrl-C), the original rate is restored afterwards,
 *   on both ends, before the result or the error is passed on. If even that fails, the error says
 *   the module is left at the fast rate until it is reset (AT+UART_CUR is not saved across resets).
 */

export interface FastBaudOptions {
  /** Cancels the switch itself (not the restore, which always runs). */
  signal?: AbortSignal;
  onEvent?: EventSink;
}

/** UART framing and flow control as `AT+UART_CUR?` reports them; we only change the rate. */
interface UartSettings {
  dataBits: number;
  stopBits: number;
  parity: number;
  flowControl: number;
}

/** Our side is 8N1 without flow control unless the module says otherwise. */
const DEFAULT_SETTINGS: UartSettings = { dataBits: 8, stopBits: 1, parity: 0, flowControl: 0 };

/** Time an `AT` probe at a freshly switched rate may take (answers come in well under a millisecond). */
const PROBE_TIMEOUT_MS = 300;
/** Probes before giving up on a rate. */
const PROBE_ATTEMPTS = 3;
/**
 * Pause between switching the host port and the first probe. The module switches as soon as its OK
 * has left its UART, i.e. before we even see the OK; this only covers USB adapters that apply the
 * new rate a little after update() returns.
 */
const SETTLE_MS = 2;

/** Highest rate any ESP-AT chip accepts (doc §4: 80 … 5 000 000). */
export const MAX_FAST_BAUD = 5_000_000;

export async function withFastBaud<T>(module: EspAtModule, baudRate: number, work: () => Promise<T>, options: FastBaudOptions = {}): Promise<T> {
  const emit = options.onEvent ?? ignoreEvents;
  const { transport } = module;
  const original = transport.baudRate;
  if (!Number.isInteger(baudRate) || baudRate < 80 || baudRate > MAX_FAST_BAUD) {
    throw new UsageError(`--fast-baud must be a whole number between 80 and ${MAX_FAST_BAUD}, got ${baudRate}`);
  }
  if (baudRate === original) return work();
  if (transport.url.startsWith('tcp:')) {
    throw new UsageError(
      `--fast-baud cannot be used over ${transport.url}: the serial server's own UART rate would not follow the module (set the rate in the server instead)`,
    );
  }

  const switched = await switchUp(module, original, baudRate, emit, options.signal);
  if (!switched) return work();

  let result: T;
  try {
    result = await work();
  } catch (error) {
    const restored = await restore(module, original, baudRate, switched);
    if (restored !== true && error instanceof AtPkiError) {
      error.message = `${error.message}; and the module could not be switched back to ${original} baud (${restored.message}): it stays at ${baudRate} baud until it is reset`;
      error.details.baudRate = baudRate;
    }
    if (restored === true) emit({ type: 'log', level: 'info', message: `back at ${original} baud` });
    throw error;
  }
  const restored = await restore(module, original, baudRate, switched);
  if (restored !== true) {
    throw new DeviceError(
      `the work at ${baudRate} baud finished, but the module could not be switched back to ${original} baud (${restored.message}); ` +
        `it stays at ${baudRate} baud until it is reset (AT+UART_CUR is not saved)`,
      { cause: restored, details: { baudRate, originalBaudRate: original, deviceState: `work done; UART left at ${baudRate} baud until reset` } },
    );
  }
  emit({ type: 'log', level: 'info', message: `back at ${original} baud` });
  return result;
}

/** Returns the module's UART settings when both ends now run at `target`, undefined when staying at `original`. */
async function switchUp(module: EspAtModule, original: number, target: number, emit: EventSink, signal: AbortSignal | undefined): Promise<UartSettings | undefined> {
  const { session, transport } = module;
  const stay = (reason: string): undefined => {
    emit({ type: 'log', level: 'warn', message: `staying at ${original} baud: ${reason}` });
    return undefined;
  };

  // 1. Can our port do it at all? Try it while the module is quiet, before telling the module anything.
  try {
    await transport.setBaudRate(target);
  } catch (error) {
    if (transport.baudRate !== original) await transport.setBaudRate(original);
    return stay(`this port cannot be set to ${target} baud (${messageOf(error)})`);
  }
  await transport.setBaudRate(original);

  // 2. Keep the module's framing and flow control; change only the rate.
  const settings = await currentSettings(module, signal);

  // 3. Ask the module. ERROR = refused (rate out of its range): nothing changed.
  try {
    await session.command(uartCur(target, settings), { signal });
  } catch (error) {
    if (error instanceof DeviceError) return stay(`the module refused ${target} baud (${error.message})`);
    // No answer (timeout, cancel): most likely it never switched, but it may have. Make sure both
    // ends are back at the original rate, then pass the failure on.
    await restore(module, original, target, settings, { originalFirst: true });
    throw error;
  }

  // 4. The module has switched (its OK left the wire before it did). Now our side, then prove it.
  await transport.setBaudRate(target);
  if (await probe(module)) {
    emit({ type: 'log', level: 'info', message: `switched the line to ${target} baud for the transfer` });
    return settings;
  }
  const restored = await restore(module, original, target, settings);
  if (restored !== true) {
    throw new DeviceError(`the module stopped answering after switching to ${target} baud, and not at ${original} baud either (${restored.message}); reset it`, {
      cause: restored,
      details: { baudRate: target, originalBaudRate: original },
    });
  }
  return stay(`the module did not answer at ${target} baud (a USB adapter or cable that cannot carry that rate?)`);
}

async function currentSettings(module: EspAtModule, signal: AbortSignal | undefined): Promise<UartSettings> {
  try {
    const answer = await module.session.command('AT+UART_CUR?', { signal });
    for (const line of answer.lines) {
      const match = /^\+UART_CUR:\d+,(\d+),(\d+),(\d+),(\d+)$/.exec(line);
      if (match) return { dataBits: Number(match[1]), stopBits: Number(match[2]), parity: Number(match[3]), flowControl: Number(match[4]) };
    }
  } catch (error) {
    if (!(error instanceof DeviceError)) throw error;
  }
  return DEFAULT_SETTINGS;
}

function uartCur(baudRate: number, s: UartSettings): string {
  return `AT+UART_CUR=${baudRate},${s.dataBits},${s.stopBits},${s.parity},${s.flowControl}`;
}

/** `AT` → OK at the host's current rate, a few tries. */
async function probe(module: EspAtModule): Promise<boolean> {
  await delay(SETTLE_MS);
  for (let attempt = 0; attempt < PROBE_ATTEMPTS; attempt++) {
    try {
      await module.session.command('AT', { timeoutMs: PROBE_TIMEOUT_MS });
      return true;
    } catch (error) {
      if (error instanceof DisconnectedError || error instanceof AbortedError) return false;
    }
  }
  return false;
}

/**
 * Both ends back to `original`. Never cancelled (it runs after a Ctrl-C too). Returns true, or the
 * reason it failed. The module may already be back at its boot rate (it restarted), so a failed
 * AT+UART_CUR at the fast rate is followed by a probe at the original rate anyway.
 */
async function restore(
  module: EspAtModule,
  original: number,
  fast: number,
  settings: UartSettings,
  options: { originalFirst?: boolean } = {},
): Promise<true | Error> {
  const { session, transport } = module;
  if (!session.isOpen) return new DisconnectedError(`${transport.url} is closed`);
  if (options.originalFirst) {
    // The module probably never left the original rate: check that first, it is the cheap answer.
    try {
      if (transport.baudRate !== original) await transport.setBaudRate(original);
    } catch (error) {
      return error instanceof Error ? error : new Error(String(error));
    }
    if (await probe(module)) return true;
  }
  let failure: Error | undefined;
  try {
    if (transport.baudRate !== fast) await transport.setBaudRate(fast);
    await session.command(uartCur(original, settings));
  } catch (error) {
    failure = error instanceof Error ? error : new Error(String(error));
    if (error instanceof DisconnectedError) return failure;
  }
  try {
    await transport.setBaudRate(original);
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
  if (await probe(module)) return true;
  return failure ?? new DeviceError(`no answer to AT at ${original} baud`);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
