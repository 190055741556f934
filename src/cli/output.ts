/**
 * How commands report. Human mode: text on stdout, warnings and errors as `at-pki: ...` lines on
 * stderr. `--json` mode: stdout is JSON Lines; a command's last line is its `end` record,
 * `{"type":"end","ok":true,"result":{...}}` or `{"type":"end","ok":false,"error":{code,message,details}}`.
 * Warnings still go to stderr as text (and into the result, for machines).
 */
import type { Command } from 'commander';
import type { CliIo } from './io.js';

export const PROGRAM_NAME = 'at-pki';

export interface JsonOption {
  /** Print a JSON `end` record on stdout instead of text. @default false */
  json?: boolean;
}

/** Add the shared `--json` flag. */
export function addJsonOption(command: Command): Command {
  return command.option('--json', 'print the result as JSON on stdout (JSON Lines; the last line is {"type":"end",...})');
}

/** End a successful command: `human` text, or the JSON end record. */
export function printResult(io: CliIo, json: boolean | undefined, human: string, result: unknown): void {
  if (json) io.stdout(`${JSON.stringify({ type: 'end', ok: true, result })}\n`);
  else io.stdout(human.endsWith('\n') ? human : `${human}\n`);
}

export function printWarnings(io: CliIo, messages: readonly string[]): void {
  for (const message of messages) io.stderr(`${PROGRAM_NAME}: warning: ${oneLine(message)}\n`);
}

export function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

/** Help text shared by every command. */
export const EXIT_CODES_HELP = `
Exit codes:
  0  success
  2  usage error or bad input (bad arguments, unreadable or malformed files, a bin that does not fit)
  1  any other failure

With --json, stdout carries JSON Lines ending in {"type":"end","ok":true,"result":{...}}, or on
failure {"type":"end","ok":false,"error":{"code":...,"message":...,"details":{...}}}.
Set AT_PKI_DEBUG=1 to get stack traces of internal errors.`;

/** Add an `Examples:` section and the exit codes to a command's --help. */
export function addExamples(command: Command, examples: readonly string[]): Command {
  const lines = examples.map((example) => `  $ ${example}`).join('\n');
  return command.addHelpText('after', `\nExamples:\n${lines}\n${EXIT_CODES_HELP}`);
}
