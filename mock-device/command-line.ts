/**
 * Splits one received command line (without its CR LF) into command name and form, the way the
 * AT core does before it looks the name up in its command table.
 *
 * - `AT`            → name `""`,          form `execute`
 * - `ATE0`          → name `"E0"`,        form `execute`
 * - `AT+GMR`        → name `"+GMR"`,      form `execute`
 * - `AT+SYSLOG?`    → name `"+SYSLOG"`,   form `query`
 * - `AT+SYSLOG=?`   → name `"+SYSLOG"`,   form `test`
 * - `AT+SYSLOG=1`   → name `"+SYSLOG"`,   form `set`, argumentText `"1"`
 *
 * Names are matched case-sensitively (upper case, as documented).
 */

export type CommandForm = 'execute' | 'query' | 'test' | 'set';

export type ParsedCommandLine =
  | { kind: 'command'; name: string; form: CommandForm; argumentText: string }
  | { kind: 'no-at' }
  | { kind: 'malformed' };

export function parseCommandLine(line: string): ParsedCommandLine {
  if (!line.startsWith('AT')) return { kind: 'no-at' };
  const rest = line.slice(2);
  const eq = rest.indexOf('=');
  const q = rest.indexOf('?');
  if (eq === -1 && q === -1) return { kind: 'command', name: rest, form: 'execute', argumentText: '' };
  if (eq === -1 || (q !== -1 && q < eq)) {
    // `AT+X?` — anything after the `?` makes it malformed.
    if (q !== rest.length - 1) return { kind: 'malformed' };
    return { kind: 'command', name: rest.slice(0, q), form: 'query', argumentText: '' };
  }
  const name = rest.slice(0, eq);
  const argumentText = rest.slice(eq + 1);
  if (argumentText === '?') return { kind: 'command', name, form: 'test', argumentText: '' };
  return { kind: 'command', name, form: 'set', argumentText };
}
