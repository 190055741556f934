import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DeviceError, InputError } from '../../src/errors.js';
import type { CliIo } from '../../src/cli/io.js';
import { createProgram } from '../../src/cli/program.js';
import { runCli as runInProcess } from '../../src/cli/run.js';
import { repoRoot } from '../pki/paths.js';
import { cliPath, ensureBuilt, runCli } from './harness.js';

const { version } = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };

/** Run the real program, plus a `fail` command throwing `error`, in-process. */
async function run(args: string[], error?: unknown, env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = { stdout: (text) => void (stdout += text), stderr: (text) => void (stderr += text), env };
  const program = createProgram(io);
  program
    .command('fail')
    .option('--json')
    .action(() => {
      throw error;
    });
  const code = await runInProcess(program, ['node', 'at-pki', ...args], io);
  return { code, stdout, stderr };
}

describe('error reporting', () => {
  it('reports an AtPkiError in one line with its exit code', async () => {
    expect(await run(['fail'], new InputError('bad thing'))).toEqual({ code: 2, stdout: '', stderr: 'at-pki: bad thing\n' });
    expect(await run(['fail'], new DeviceError('module said ERROR'))).toEqual({ code: 1, stdout: '', stderr: 'at-pki: module said ERROR\n' });
  });

  it('reports anything else as an internal error, exit 1, without a stack trace', async () => {
    const result = await run(['fail'], new TypeError('cannot read properties of undefined'));
    expect(result).toEqual({ code: 1, stdout: '', stderr: 'at-pki: internal error: cannot read properties of undefined\n' });
  });

  it('adds the stack trace with AT_PKI_DEBUG=1', async () => {
    const result = await run(['fail'], new TypeError('oops'), { AT_PKI_DEBUG: '1' });
    expect(result.stderr).toMatch(/^at-pki: internal error: oops\nTypeError: oops\n\s+at /);
  });

  it('keeps multi-line messages on one line', async () => {
    expect((await run(['fail'], new InputError('first\nsecond'))).stderr).toBe('at-pki: first second\n');
  });

  it('also prints the error as a JSON end record with --json', async () => {
    const result = await run(['fail', '--json'], new InputError('bad thing', { details: { offset: 4 } }));
    expect(result.code).toBe(2);
    expect(JSON.parse(result.stdout)).toEqual({ type: 'end', ok: false, error: { code: 'BAD_INPUT', message: 'bad thing', details: { offset: 4 } } });
    const internal = await run(['fail', '--json'], new Error('boom'));
    expect(JSON.parse(internal.stdout)).toEqual({ type: 'end', ok: false, error: { code: 'INTERNAL', message: 'boom', details: {} } });
  });

  it('reports usage errors in one line, exit 2', async () => {
    expect(await run(['inspect'])).toEqual({ code: 2, stdout: '', stderr: "at-pki: missing required argument 'file' (see 'at-pki inspect --help')\n" });
    expect(await run(['frobnicate'])).toMatchObject({ code: 2, stderr: "at-pki: unknown command 'frobnicate' (see 'at-pki --help')\n" });
    const json = await run(['inspect', '--json', 'a', 'b']);
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, error: { code: 'USAGE' } });
  });

  it('shows help and exits 2 when no command is given', async () => {
    const result = await run([]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('Usage: at-pki');
  });
});

describe('help', () => {
  it.each([[['--help']], [['help']], [['generate', '--help']], [['inspect', '--help']], [['extract', '--help']], [['help', 'generate_bin']]])(
    '%j explains, with examples and exit codes, exit 0',
    async (args) => {
      const result = await run(args);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/Examples:\n {2}\$ at-pki /);
      expect(result.stdout).toMatch(/Exit codes:\n {2}0 {2}success\n {2}2 {2}usage error or bad input.*\n {2}1 {2}any other failure/);
    },
  );

  it('prints the version', async () => {
    expect(await run(['--version'])).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
  });
});

describe('the built executable', () => {
  it('runs from dist and sets the exit code', () => {
    ensureBuilt();
    const ok = runCli(['--version']);
    expect(ok).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
    expect(runCli(['generate', 'cert']).code).toBe(2);
  });

  it('survives a reader that goes away (EPIPE) without a stack trace', async () => {
    ensureBuilt();
    const child = spawn(process.execPath, [cliPath, 'inspect', join(repoRoot, 'test/vectors/atpki/client_key/expected.bin')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.destroy(); // closed before the CLI writes anything
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });
});
