/**
 * Runs the built CLI (dist/src/cli/main.js) as a child process. ensureBuilt() compiles first when
 * dist is missing or older than a source file, under a lock so parallel test files build once.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../pki/paths.js';

export const cliPath = join(repoRoot, 'dist/src/cli/main.js');
const lockDir = join(repoRoot, 'dist/.test-build.lock');
const STALE_LOCK_MS = 120_000;

function newestSourceMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSourceMtime(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

function isFresh(): boolean {
  try {
    return statSync(cliPath).mtimeMs >= newestSourceMtime(join(repoRoot, 'src'));
  } catch {
    return false;
  }
}

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function tryLock(): boolean {
  try {
    mkdirSync(join(repoRoot, 'dist'), { recursive: true });
    mkdirSync(lockDir);
    return true;
  } catch {
    try {
      if (Date.now() - statSync(lockDir).mtimeMs > STALE_LOCK_MS) rmSync(lockDir, { recursive: true, force: true });
    } catch {
      // the holder just released it
    }
    return false;
  }
}

export function ensureBuilt(): void {
  while (!isFresh()) {
    if (!tryLock()) {
      sleep(200);
      continue;
    }
    try {
      if (isFresh()) return;
      try {
        execFileSync(process.execPath, [join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: repoRoot, stdio: 'pipe' });
      } catch (error) {
        // tsc emits even with type errors (elsewhere in the tree); only fail if the CLI did not get built.
        if (!isFresh()) throw new Error(`build failed:\n${String((error as { stdout?: unknown }).stdout ?? error)}`);
      }
    } finally {
      rmSync(lockDir, { recursive: true, force: true });
    }
  }
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): CliRun {
  const result = spawnSync(process.execPath, [cliPath, ...args], {
    cwd: options.cwd ?? repoRoot,
    env: { ...process.env, AT_PKI_DEBUG: '', ...options.env },
    encoding: 'utf8',
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The `end` record of a --json run (the last stdout line). */
export function endRecord(run: CliRun): Record<string, any> {
  const lines = run.stdout.trim().split('\n');
  const records = lines.map((line) => JSON.parse(line) as Record<string, any>);
  return records.at(-1)!;
}

/** Failure output: exactly one `at-pki: ...` line on stderr (besides warnings), no stack trace. */
export function expectOneLineError(run: CliRun, code: number, message: RegExp | string): void {
  const lines = run.stderr.split('\n').filter((line) => line !== '' && !line.startsWith('at-pki: warning: '));
  if (run.code !== code || lines.length !== 1 || !lines[0]!.startsWith('at-pki: ') || !matches(lines[0]!, message) || /\n\s+at /.test(run.stderr)) {
    throw new Error(`expected exit ${code} and one line 'at-pki: ${String(message)}', got exit ${run.code} with stderr:\n${run.stderr}`);
  }
}

function matches(line: string, message: RegExp | string): boolean {
  return typeof message === 'string' ? line.includes(message) : message.test(line);
}

/**
 * runCli without blocking the event loop: for tests whose module is an emulator living in this test
 * process (served on a pseudo-terminal or TCP), which must keep answering while the CLI runs.
 */
export function runCliAsync(
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; /** Run as this uid/gid. */ user?: { uid: number; gid: number } } = {},
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, ...args], {
      cwd: options.cwd ?? repoRoot,
      env: { ...process.env, AT_PKI_DEBUG: '', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(options.user ?? {}),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** All JSON lines of a --json run. */
export function jsonLines(run: CliRun): Record<string, any>[] {
  return run.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, any>);
}
