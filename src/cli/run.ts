/**
 * Runs the commander program and turns every failure into one stderr line and an exit code:
 *
 * - AtPkiError → `at-pki: <message>`, its own exit code (2 for bad input/usage, 1 otherwise);
 * - commander usage errors (unknown option, missing argument...) → `at-pki: <message> (see ...)`, 2;
 * - anything else → `at-pki: internal error: <message>`, 1.
 *
 * Never a stack trace, unless AT_PKI_DEBUG=1. With `--json` on the command line the error is also
 * printed on stdout as `{"type":"end","ok":false,"error":{code,message,details}}`.
 */
import { CommanderError, type Command } from 'commander';
import { AtPkiError } from '../errors.js';
import type { CliIo } from './io.js';
import { oneLine, PROGRAM_NAME } from './output.js';

/** Parse `argv` (as process.argv: node, script, args...) and run the command. Resolves to the exit code. */
export async function runCli(program: Command, argv: readonly string[], io: CliIo): Promise<number> {
  try {
    await program.parseAsync([...argv], { from: 'node' });
    return 0;
  } catch (error) {
    return reportFailure(error, program, argv.slice(2), io);
  }
}

interface ErrorRecord {
  code: string;
  message: string;
  details: Record<string, unknown>;
}

function reportFailure(error: unknown, program: Command, args: readonly string[], io: CliIo): number {
  let record: ErrorRecord;
  let exitCode: number;
  let line: string;
  if (error instanceof CommanderError) {
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return 0;
    // Help printed on request (`at-pki help`) exits 0; printed because no command was given, it is a usage error.
    if (error.code === 'commander.help') return error.exitCode === 0 ? 0 : 2;
    const message = oneLine(error.message.replace(/^error: /, ''));
    record = { code: 'USAGE', message, details: { commander: error.code } };
    exitCode = 2;
    line = `${message} (see '${helpCommandFor(program, args)}')`;
  } else if (error instanceof AtPkiError) {
    record = error.toJSON();
    exitCode = error.exitCode;
    line = oneLine(error.message);
  } else {
    const message = oneLine(error instanceof Error ? error.message : String(error));
    record = { code: 'INTERNAL', message, details: {} };
    exitCode = 1;
    line = `internal error: ${message}`;
  }
  io.stderr(`${PROGRAM_NAME}: ${line}\n`);
  if (io.env.AT_PKI_DEBUG === '1' && error instanceof Error && error.stack) io.stderr(`${error.stack}\n`);
  if (wantsJson(args)) io.stdout(`${JSON.stringify({ type: 'end', ok: false, error: record })}\n`);
  return exitCode;
}

/** `--json` anywhere before a `--` terminator (also when commander failed before any action ran). */
function wantsJson(args: readonly string[]): boolean {
  const end = args.indexOf('--');
  return (end === -1 ? args : args.slice(0, end)).includes('--json');
}

/** `at-pki generate --help` when the first argument names a command, else `at-pki --help`. */
function helpCommandFor(program: Command, args: readonly string[]): string {
  const name = args.find((arg) => !arg.startsWith('-'));
  const command = program.commands.find((candidate) => candidate.name() === name || candidate.aliases().includes(name ?? ''));
  return command ? `${PROGRAM_NAME} ${command.name()} --help` : `${PROGRAM_NAME} --help`;
}
