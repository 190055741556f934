/**
 * AT+RST and the wait for the module's `ready`: values written underneath the NVS library (a
 * whole mfg_nvs partition written with AT+SYSFLASH) are only seen after it loads the partition again.
 */
import type { AtSession } from '../at/session.js';
import { waitFor } from '../transport/abortable.js';

/** How long a module may take from AT+RST to `ready` (boot, NVS init). */
export const RESTART_TIMEOUT_MS = 15_000;

export async function restartModule(session: AtSession, options: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<{ durationMs: number }> {
  const started = performance.now();
  let onReset: ((line: string) => void) | undefined;
  // Listen before sending: `ready` may follow OK at once.
  const ready = new Promise<void>((resolve) => {
    onReset = (line: string) => {
      if (line === 'ready') resolve();
    };
    session.on('reset', onReset);
  });
  try {
    await session.command('AT+RST', { signal: options.signal });
    await waitFor(ready, { what: 'waiting for "ready" after AT+RST', timeoutMs: options.timeoutMs ?? RESTART_TIMEOUT_MS, signal: options.signal });
  } finally {
    session.off('reset', onReset!);
  }
  return { durationMs: Math.round(performance.now() - started) };
}
