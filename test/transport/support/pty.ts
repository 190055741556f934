import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { Readable, Writable } from 'node:stream';

const SCRIPT = fileURLToPath(new URL('./pty_relay.py', import.meta.url));

/** A pty pair held by a python3 child: the test talks to the "device" side through the child's stdio. */
export interface PtyPair {
  /** The slave path to open with the transport (/dev/pts/N). */
  path: string;
  child: ChildProcessByStdio<Writable, Readable, null>;
  /** Everything the transport wrote so far. */
  received(): Buffer;
  /** Resolves once at least `n` bytes were received (rejects after `timeoutMs`). */
  waitForBytes(n: number, timeoutMs?: number): Promise<Buffer>;
  /** Sends bytes to the transport (as if the device spoke). */
  send(data: Buffer | string): void;
  /** Freezes the relay (SIGSTOP): it stops reading, so the pty fills up and writes block. */
  freeze(): void;
  /** Kills the relay: the master closes, the transport sees a hang-up. Resolves when it is gone. */
  kill(): Promise<void>;
}

export async function openPtyPair(): Promise<PtyPair> {
  const child = spawn('python3', [SCRIPT], { stdio: ['pipe', 'pipe', 'inherit'] });
  const chunks: Buffer[] = [];
  let header = '';
  let path: string | undefined;
  let waiters: Array<() => void> = [];

  const ready = new Promise<string>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`pty helper exited early (${code})`)));
    child.stdout.on('data', (chunk: Buffer) => {
      if (path === undefined) {
        header += chunk.toString('latin1');
        const nl = header.indexOf('\n');
        if (nl < 0) return;
        path = header.slice(0, nl);
        const rest = Buffer.from(header.slice(nl + 1), 'latin1');
        if (rest.length > 0) chunks.push(rest);
        resolve(path);
      } else {
        chunks.push(chunk);
      }
      const current = waiters;
      waiters = [];
      for (const w of current) w();
    });
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  const ptyPath = await ready.finally(() => clearTimeout(timer));
  const exited = once(child, 'exit');

  const received = (): Buffer => Buffer.concat(chunks);
  return {
    path: ptyPath,
    child,
    received,
    waitForBytes(n, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const deadline = setTimeout(() => reject(new Error(`only ${received().length} of ${n} bytes arrived`)), timeoutMs);
        const check = (): void => {
          const all = received();
          if (all.length >= n) {
            clearTimeout(deadline);
            resolve(all);
          } else {
            waiters.push(check);
          }
        };
        check();
      });
    },
    send(data) {
      child.stdin.write(data);
    },
    freeze() {
      child.kill('SIGSTOP');
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
