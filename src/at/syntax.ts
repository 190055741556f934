import { InputError } from '../errors.js';

/** Longest command line the firmware accepts, terminator included (protocol §1). */
export const MAX_COMMAND_LENGTH = 256;

/**
 * Quote a string parameter the way the AT parser reads it: inside double quotes, with `\`, `"` and `,`
 * escaped (protocol §1). Control characters cannot be expressed at all and are refused, so a name
 * can never end the command line early or smuggle in a second command.
 */
export function quoteAtString(value: string): string {
  if (/[\x00-\x1f\x7f]/.test(value)) {
    throw new InputError(`a control character cannot be sent in an AT string parameter: ${JSON.stringify(value)}`);
  }
  return `"${value.replace(/[\\",]/g, (c) => `\\${c}`)}"`;
}

/** The command's name without parameters, e.g. `AT+SYSFLASH` for `AT+SYSFLASH=2,"x",0,4`: for logs and metrics. */
export function commandName(command: string): string {
  const end = command.search(/[=?]/);
  return end < 0 ? command : command.slice(0, end);
}

/** The prefix of the command's own information lines: `+SYSFLASH` for `AT+SYSFLASH?`. */
export function responsePrefix(command: string): string | undefined {
  const name = commandName(command);
  return name.startsWith('AT+') ? name.slice(2) : undefined;
}

/** Characters of an unexpected answer line quoted in an error message. */
const QUOTED_LINE_CHARACTERS = 24;

/**
 * The start of an answer line that did not parse, for an error message. Short on purpose: a garbled
 * or misplaced answer may carry the bytes of a stored key right after its header (a DER key has no
 * line break to stop at), and error messages end up on screens, in logs and in the daemon's journal.
 */
export function quoteAnswerLine(line: string): string {
  return line.length > QUOTED_LINE_CHARACTERS ? `${JSON.stringify(line.slice(0, QUOTED_LINE_CHARACTERS))}… (${line.length} characters)` : JSON.stringify(line);
}
