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
