/**
 * Fault knobs of the emulator: what can go wrong on the line and in the module, each as a
 * probability or at chosen positions, from a seed. Used as `new EspAtEmulator({ faults })`,
 * `emulator.setFaults(...)` or `mock://esp32?faults=drop:0.001,busy:0.01&faultSeed=42`.
 * mock-device/README.md ("Faults") documents every knob.
 */

/** Faults on single bytes of the line. `drop`/`corrupt` act in both directions; `…In` = host→module, `…Out` = module→host. */
export const BYTE_KNOBS = ['drop', 'dropIn', 'dropOut', 'corrupt', 'corruptIn', 'corruptOut'] as const;
/** Faults on a command line the module received (at most one per command; checked in this order). */
export const COMMAND_KNOBS = ['disconnect', 'powerCut', 'reset', 'silent', 'error', 'busy'] as const;
export const FAULT_KNOBS = [...BYTE_KNOBS, ...COMMAND_KNOBS] as const;

export type ByteKnob = (typeof BYTE_KNOBS)[number];
export type CommandKnob = (typeof COMMAND_KNOBS)[number];
export type FaultKnob = (typeof FAULT_KNOBS)[number];

/**
 * When a knob fires: a probability (per byte for byte knobs, per command for command knobs), or
 * an object with a probability and/or chosen positions:
 * - `at`: byte knobs — 0-based byte positions in the stream of that direction (for `drop` /
 *   `corrupt`, in both streams); command knobs — 1-based numbers of the (matching) command lines.
 * - `match` (command knobs): only command lines containing this text count, e.g. `SYSFLASH=1`.
 */
export type FaultTrigger = number | { p?: number; at?: number | readonly number[]; match?: string };

export type FaultOptions = { seed?: number } & { [K in FaultKnob]?: FaultTrigger };

export interface NormalizedTrigger {
  p: number;
  at: readonly number[];
  match: string | undefined;
}

export function isFaultKnob(name: string): name is FaultKnob {
  return (FAULT_KNOBS as readonly string[]).includes(name);
}

export function isByteKnob(name: FaultKnob): name is ByteKnob {
  return (BYTE_KNOBS as readonly string[]).includes(name);
}

/** Checked, with defaults: RangeError for a probability outside 0…1 or a bad position. */
export function normalizeTrigger(knob: FaultKnob, trigger: FaultTrigger): NormalizedTrigger {
  const t = typeof trigger === 'number' ? { p: trigger } : trigger;
  const p = t.p ?? 0;
  if (!Number.isFinite(p) || p < 0 || p > 1) throw new RangeError(`fault ${knob}: probability must be between 0 and 1, got ${String(t.p)}`);
  const at = t.at === undefined ? [] : typeof t.at === 'number' ? [t.at] : [...t.at];
  const first = isByteKnob(knob) ? 0 : 1;
  for (const n of at) {
    if (!Number.isSafeInteger(n) || n < first) throw new RangeError(`fault ${knob}: positions must be whole numbers ≥ ${first}, got ${String(n)}`);
  }
  if (t.match !== undefined && isByteKnob(knob)) throw new RangeError(`fault ${knob}: match applies to command faults only`);
  return { p, at: [...new Set(at)].sort((a, b) => a - b), match: t.match === '' ? undefined : t.match };
}

/**
 * The `faults=` URL syntax: comma-separated items, each
 * - `<knob>:<probability>` — e.g. `drop:0.001`, `busy:0.01`;
 * - `<knob>@<n>` — at byte position n (byte knobs) or at the n-th command (command knobs); repeatable;
 * - either form with `~<text>` after the knob name: only commands containing `<text>` count,
 *   e.g. `reset~SYSFLASH=1@2` (the second write), `error~SYSMFG:0.05`. `<text>` cannot hold `,` `:` `@`.
 * Throws an Error with a readable message.
 */
export function parseFaultSpec(spec: string): FaultOptions {
  const out: FaultOptions = {};
  for (const rawItem of spec.split(',')) {
    const item = rawItem.trim();
    if (item === '') continue;
    const m = /^([A-Za-z]+)(?:~([^,:@]+))?(?::([^,:@]+)|@(\d+))$/.exec(item);
    if (!m) throw new Error(`bad fault "${item}": expected <knob>:<probability> or <knob>@<position> (knobs: ${FAULT_KNOBS.join(', ')})`);
    const [, name, match, probability, position] = m as unknown as [string, string, string | undefined, string | undefined, string | undefined];
    const knob = FAULT_KNOBS.find((k) => k.toLowerCase() === name.toLowerCase());
    if (!knob) throw new Error(`unknown fault "${name}" (knobs: ${FAULT_KNOBS.join(', ')})`);
    const previous = out[knob];
    const current = previous === undefined ? {} : typeof previous === 'number' ? { p: previous } : { ...previous };
    if (match !== undefined) {
      if (current.match !== undefined && current.match !== match) throw new Error(`fault ${knob}: one match text per knob`);
      current.match = match;
    }
    if (probability !== undefined) {
      const p = Number(probability);
      if (probability.trim() === '' || !Number.isFinite(p) || p < 0 || p > 1) throw new Error(`fault ${knob}: probability must be between 0 and 1, got "${probability}"`);
      current.p = p;
    } else {
      const at = current.at === undefined ? [] : typeof current.at === 'number' ? [current.at] : [...current.at];
      current.at = [...at, Number(position)];
    }
    try {
      normalizeTrigger(knob, current);
    } catch (error) {
      throw new Error((error as Error).message);
    }
    out[knob] = current;
  }
  return out;
}

/** The options back in `faults=` syntax (for printing a replayable URL). */
export function formatFaultSpec(options: FaultOptions): string {
  const items: string[] = [];
  for (const knob of FAULT_KNOBS) {
    const trigger = options[knob];
    if (trigger === undefined) continue;
    const t = normalizeTrigger(knob, trigger);
    const name = t.match === undefined ? knob : `${knob}~${t.match}`;
    if (t.p > 0) items.push(`${name}:${t.p}`);
    for (const n of t.at) items.push(`${name}@${n}`);
  }
  return items.join(',');
}
