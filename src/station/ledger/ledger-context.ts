/** Who is acting, for the ledger's records: the station name defaults to the host, the actor to the OS user. */
import { hostname, userInfo } from 'node:os';
import type { LedgerContext } from './ledger.js';

/** `--station NAME`, or the host name. */
export function defaultStationName(): string {
  return hostname();
}

/** The context's actor, or `user@host` of this process. */
export function actorOf(context: LedgerContext): string {
  if (context.actor) return context.actor;
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // No passwd entry (containers): the uid is still someone.
    user = String(process.getuid?.() ?? 'unknown');
  }
  return `${user}@${hostname()}`;
}
