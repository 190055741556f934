import { AbortedError, AtPkiError, TimeoutError } from '../errors.js';

/**
 * Guarding waits with a timeout and an AbortSignal.
 *
 * serialport's write/drain callbacks never fire once the port is closed, sockets can stall, devices
 * can stop answering: every wait in at-pki goes through {@link waitFor} so it ends with a result, a
 * TimeoutError or an AbortedError, and never leaves a timer or an abort listener behind.
 *
 * @example
 * // Promise form: give up after 2 s or when the caller aborts.
 * const port = await waitFor(openSomething(), { what: 'opening /dev/ttyUSB0', timeoutMs: 2000, signal,
 *   onAbandon: (late) => late.close() });            // it opened after all, but nobody wants it now
 *
 * // Executor form: subscribe, and return the unsubscribe; it runs however the wait ends.
 * const line = await waitFor<string>((resolve) => {
 *   const onLine = (l: string) => { if (l === 'OK') resolve(l); };
 *   framer.on('line', onLine);
 *   return () => framer.off('line', onLine);
 * }, { what: 'waiting for OK after AT+GMR', timeoutMs: 1000, signal });
 */

export interface WaitOptions<T = unknown> {
  /**
   * What is being waited for, as a phrase that reads well before "timed out after N ms" / "aborted":
   * `opening /dev/ttyUSB0`, `waiting for OK after AT+GMR`. Goes into the message and `details.waitingFor`.
   */
  what: string;
  /** Give up after this many ms with a TimeoutError. `undefined` or `Infinity`: no time limit. */
  timeoutMs?: number;
  /** Give up when this fires, with an AbortedError (or with `signal.reason` itself if it is an AtPkiError). */
  signal?: AbortSignal;
  /**
   * Promise form only: called with the value if the promise fulfils after the wait already gave up,
   * so a late resource (an opened port, a socket) can be released. Exceptions from it are ignored.
   */
  onAbandon?: (value: T) => void;
}

/**
 * Starts the work; calls `resolve`/`reject` at most once (later calls are ignored). May return a
 * cleanup function, which runs exactly once when the wait settles, whichever way (result, error,
 * timeout, abort), including when `resolve` was called before the executor returned.
 */
export type WaitExecutor<T> = (resolve: (value: T) => void, reject: (reason: unknown) => void) => (() => void) | void;

/**
 * Waits for `work` (a promise, or an executor as in `new Promise`) with a time limit and an abort
 * signal. Rejects with:
 * - `TimeoutError` (`details: { waitingFor, timeoutMs }`) when `timeoutMs` runs out;
 * - `signal.reason` when the signal fires and its reason is an AtPkiError (so a caller can abort
 *   waits with a specific error, e.g. `controller.abort(new DisconnectedError(...))`), otherwise an
 *   `AbortedError` (`details: { waitingFor }`, `cause`: the signal's reason). An already-aborted
 *   signal rejects at once, without starting an executor;
 * - whatever the work rejects with.
 *
 * Timer and abort listener are always removed when the wait settles. The work itself is not
 * cancelled (a promise cannot be): use the executor's cleanup or `onAbandon` for that.
 */
export function waitFor<T>(work: PromiseLike<T> | WaitExecutor<T>, options: WaitOptions<T>): Promise<T> {
  const { what, timeoutMs, signal, onAbandon } = options;
  if (timeoutMs !== undefined && !(timeoutMs >= 0)) {
    throw new RangeError(`waitFor(${what}): timeoutMs must be >= 0, got ${String(timeoutMs)}`);
  }

  if (signal?.aborted) {
    if (typeof work !== 'function') observeLate(work, onAbandon);
    return Promise.reject(abortReason(signal, what));
  }

  return new Promise<T>((resolveOuter, rejectOuter) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    let cleanup: (() => void) | void = undefined;
    let executorReturned = false;

    const finish = (): boolean => {
      if (settled) return false;
      settled = true;
      if (timer !== undefined) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (executorReturned) runCleanup();
      return true;
    };
    const runCleanup = (): void => {
      const fn = cleanup;
      cleanup = undefined;
      if (typeof fn === 'function') {
        try {
          fn();
        } catch {
          // A failing cleanup must not turn a result into an error.
        }
      }
    };
    const resolve = (value: T): void => {
      if (finish()) resolveOuter(value);
    };
    const reject = (reason: unknown): void => {
      if (finish()) rejectOuter(reason);
    };
    function onAbort(): void {
      reject(abortReason(signal as AbortSignal, what));
    }

    signal?.addEventListener('abort', onAbort, { once: true });
    if (timeoutMs !== undefined && timeoutMs !== Infinity) {
      timer = setTimeout(() => reject(timeoutError(what, timeoutMs)), timeoutMs);
    }

    if (typeof work === 'function') {
      try {
        cleanup = work(resolve, reject);
      } catch (error) {
        reject(error);
      }
      executorReturned = true;
      if (settled) runCleanup();
    } else {
      executorReturned = true;
      work.then(
        (value) => {
          if (settled) {
            if (onAbandon) safely(() => onAbandon(value));
          } else {
            resolve(value);
          }
        },
        (error: unknown) => reject(error),
      );
    }
  });
}

/** Resolves after `ms`; rejects like {@link waitFor} when `signal` fires first. */
export function delay(ms: number, signal?: AbortSignal, what = `waiting ${ms} ms`): Promise<void> {
  return waitFor<void>(
    (resolve) => {
      const timer = setTimeout(resolve, ms);
      return () => clearTimeout(timer);
    },
    { what, signal },
  );
}

/** The error {@link waitFor} rejects with when `signal` fired: its reason if that is an AtPkiError, else an AbortedError. */
export function abortReason(signal: AbortSignal, what: string): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof AtPkiError) return reason;
  return new AbortedError(`${what} aborted`, { cause: reason, details: { waitingFor: what } });
}

/** The error {@link waitFor} rejects with when `timeoutMs` ran out. */
export function timeoutError(what: string, timeoutMs: number): TimeoutError {
  return new TimeoutError(`${what} timed out after ${timeoutMs} ms`, { details: { waitingFor: what, timeoutMs } });
}

/** Rejects with {@link abortReason} if `signal` has already fired. */
export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw abortReason(signal, what);
}

function observeLate<T>(work: PromiseLike<T>, onAbandon: ((value: T) => void) | undefined): void {
  work.then(
    (value) => {
      if (onAbandon) safely(() => onAbandon(value));
    },
    () => undefined,
  );
}

function safely(fn: () => void): void {
  try {
    fn();
  } catch {
    // ignored: see WaitOptions.onAbandon
  }
}
