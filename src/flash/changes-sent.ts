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

/** What an operation's session had done when it began: see markStateIfUnnamed. */
export interface SessionBaseline {
  changes: number;
  suspects: number;
}

export function sessionBaseline(session: AtSession): SessionBaseline {
  return { changes: changesSent(session), suspects: session.suspectEvents };
}

/**
 * Give a failure that names no module state the state that is certain. Operations that change flash
 * name it themselves; what is left only asked questions — unless a changing command went out after
 * all (then the state is unknown), the module was freed from data mode with 0xFF, or a command came
 * back garbled and may have run as another.
 */
export function markStateIfUnnamed(error: unknown, session: AtSession, before: SessionBaseline): void {
  if (!(error instanceof AtPkiError) || typeof error.details.deviceState === 'string') return;
  error.details.deviceState =
    changesSent(session) !== before.changes
      ? 'state unknown: erase or write commands were sent before the failure; run the operation again'
      : describeQueryOnlyState(session.flushedBytes, session.suspectEvents > before.suspects);
}

/** See EspAtModule.untouchedState; also for a connect that failed (no module object yet). */
export function describeQueryOnlyState(flushedBytes: number, garbled: boolean): string {
  if (flushedBytes > 0) return `modified: it was stuck in data mode and was freed with ${flushedBytes} bytes of 0xFF (${FLUSH_CONSEQUENCE})`;
  if (garbled) return 'state unknown: a command came back garbled on the line and may have run as another command; run the operation again';
  return 'unchanged: nothing was erased or written';
}

/** What filling a forgotten data phase with 0xFF may have done, for the user. */
export const FLUSH_CONSEQUENCE =
  'on a SYSFLASH partition writing 0xFF changes nothing; on an mfg_nvs module the key being written when an earlier run was cut off may now hold 0xFF bytes: run the update again';

