/**
 * Expose an emulator as a pseudo-terminal that the real `serialport` package can open. Node cannot
 * create a pty pair itself, so a small python3 helper (pty-bridge.py, stdlib only) owns the pty
 * and relays the master over its stdin/stdout. The helper exits when its stdin closes, so it never
 * outlives this process. Baud-rate changes on the pty are not seen (a pty ignores them).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { EspAtEmulator } from './emulator.js';

export interface ServePtyOptions {
  /** Python interpreter. Default `$AT_PKI_PYTHON` or `python3`. */
  python?: string;
  /** Give up if the helper has not reported its pty path by then. Default 5000 ms. */
  startTimeoutMs?: number;
}

export interface PtyServerHandle {
  /** The slave device path, e.g. `/dev/pts/7`. */
  readonly path: string;
  /** Tear the pty down; an attached client sees a disconnect. Idempotent. */
  close(): Promise<void>;
}

/** pty-bridge.py sits next to this file in the sources; from dist/ it is found in the source tree. */
function bridgeScriptPath(): string {
  const candidates = ['./pty-bridge.py', '../../mock-device/pty-bridge.py'].map((rel) =>
    fileURLToPath(new URL(rel, import.meta.url)),
  );
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`pty-bridge.py not found (looked in ${candidates.join(', ')})`);
  return found;
}

export async function servePty(emulator: EspAtEmulator, options: ServePtyOptions = {}): Promise<PtyServerHandle> {
  const python = options.python ?? process.env.AT_PKI_PYTHON ?? 'python3';
  const child: ChildProcessWithoutNullStreams = spawn(python, [bridgeScriptPath()], { stdio: 'pipe' });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    if (stderr.length < 4096) stderr += chunk.toString();
  });
  // EPIPE after the helper died must not crash the process.
  child.stdin.on('error', () => {});

  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const { path, rest } = await readPathLine(child, options.startTimeoutMs ?? 5000, () => stderr);

  let closed = false;
  const onData = (chunk: Buffer): void => {
    if (!closed) child.stdin.write(chunk);
  };
  const stop = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    emulator.off('data', onData);
    emulator.off('unplug', onUnplug);
    child.stdin.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
    await exited;
    clearTimeout(timer);
  };
  const onUnplug = (): void => {
    void stop();
  };

  child.stdout.on('data', (chunk: Buffer) => {
    if (!closed) emulator.receive(chunk);
  });
  void exited.then(() => {
    // The helper died on its own: stop feeding it.
    closed = true;
    emulator.off('data', onData);
    emulator.off('unplug', onUnplug);
  });
  emulator.on('data', onData);
  emulator.on('unplug', onUnplug);
  emulator.powerOn({ announce: true });
  // Nothing can reach the pty before its path is printed, but stay exact.
  if (rest.length > 0) emulator.receive(rest);

  return { path, close: stop };
}

/** Read the helper's first stdout line (the pty path) and any bytes that came with it. */
function readPathLine(
  child: ChildProcessWithoutNullStreams,
  timeoutMs: number,
  stderr: () => string,
): Promise<{ path: string; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    let text = '';
    const fail = (message: string): void => {
      cleanup();
      child.kill('SIGKILL');
      reject(new Error(`pty bridge: ${message}${stderr() ? `: ${stderr().trim()}` : ''}`));
    };
    const onData = (chunk: Buffer): void => {
      text += chunk.toString('latin1');
      const newline = text.indexOf('\n');
      if (newline === -1) return;
      cleanup();
      resolve({ path: text.slice(0, newline), rest: Buffer.from(text.slice(newline + 1), 'latin1') });
    };
    const onError = (error: Error): void => fail(error.message);
    const onClose = (): void => fail('exited before reporting its pty');
    const timer = setTimeout(() => fail(`no pty path after ${timeoutMs} ms`), timeoutMs);
    const cleanup = (): void => {
      clearTimeout(timer);
      child.stdout.off('data', onData);
      child.off('error', onError);
      child.off('close', onClose);
    };
    child.stdout.on('data', onData);
    child.once('error', onError);
    child.once('close', onClose);
  });
}
