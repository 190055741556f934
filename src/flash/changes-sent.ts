import type { AtSession } from '../at/session.js';
import { AtPkiError } from '../errors.js';

/**
 * Commands that may change the module (SYSFLASH erase/write, SYSMFG write/erase) sent on each session.
 * A failure that does not say what it left can then still be told apart: if no such command went out
 * since the operation began, the module is provably unchanged (e.g. Ctrl-C during a comparison read).
 */
const sent = new WeakMap<AtSession, number>();

/** Called by each changing command just before it goes to the session (unless already cancelled: then it is not sent). */
export function noteChangeSent(session: AtSession, signal: AbortSignal | undefined): void {
  if (signal?.aborted) return;
  sent.set(session, changesSent(session) + 1);
}

export function changesSent(session: AtSession): number {
  return sent.get(session) ?? 0;
}

/**
 * Give a failure that names no module state the one state that is certain: unchanged, when no
 * changing command was sent since `sentBefore` (the count when the operation began).
 */
export function markUnchangedIfNothingSent(error: unknown, session: AtSession, sentBefore: number): void {
  if (!(error instanceof AtPkiError) || typeof error.details.deviceState === 'string') return;
  if (changesSent(session) === sentBefore) error.details.deviceState = 'unchanged: nothing was erased or written';
}
