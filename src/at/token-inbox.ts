import { AbortedError, TimeoutError } from '../errors.js';
import type { Token } from './framer.js';

/**
 * Tokens for the command in flight, awaited one at a time with a deadline. Registered before the
 * command is written, so nothing the module answers can slip past (the zigbee-herdsman "waitress" idea,
 * shaped as a pull queue so the session's exchange reads top to bottom).
 */
export class TokenInbox {
  #queued: Token[] = [];
  #waiter: { resolve: (token: Token) => void; reject: (error: Error) => void } | undefined;
  #closedWith: Error | undefined;

  deliver(token: Token): void {
    if (this.#closedWith) return;
    if (this.#waiter) {
      const waiter = this.#waiter;
      this.#waiter = undefined;
      waiter.resolve(token);
    } else {
      this.#queued.push(token);
    }
  }

  /** The transport is gone: every wait, present and future, fails with this error. */
  fail(error: Error): void {
    this.#closedWith ??= error;
    this.#waiter?.reject(error);
    this.#waiter = undefined;
  }

  /**
   * The next token, or a TimeoutError at `deadline` (a `performance.now()` value), an AbortedError when
   * `signal` fires, a DisconnectedError when the port goes.
   */
  next(deadline: number, waitingFor: string, signal?: AbortSignal): Promise<Token> {
    const queued = this.#queued.shift();
    if (queued) return Promise.resolve(queued);
    if (this.#closedWith) return Promise.reject(this.#closedWith);
    if (signal?.aborted) return Promise.reject(abortedError(waitingFor, signal));
    return new Promise<Token>((resolve, reject) => {
      const finish = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.#waiter = undefined;
      };
      const onAbort = (): void => {
        finish();
        reject(abortedError(waitingFor, signal!));
      };
      const timer = setTimeout(
        () => {
          finish();
          reject(new TimeoutError(`timed out waiting for ${waitingFor}`, { details: { waitingFor } }));
        },
        Math.max(0, deadline - performance.now()),
      );
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiter = {
        resolve: (token) => {
          finish();
          resolve(token);
        },
        reject: (error) => {
          finish();
          reject(error);
        },
      };
    });
  }
}

function abortedError(waitingFor: string, signal: AbortSignal): AbortedError {
  const reason = signal.reason instanceof Error ? signal.reason.message : String(signal.reason ?? 'aborted');
  return new AbortedError(`cancelled while waiting for ${waitingFor}: ${reason}`, { cause: signal.reason });
}
