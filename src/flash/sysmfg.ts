import type { AtSession } from '../at/session.js';
import type { PayloadMatcher } from '../at/framer.js';
import { quoteAnswerLine, quoteAtString } from '../at/syntax.js';
import { InputError, ProtocolError } from '../errors.js';
import { noteChangeSent } from './changes-sent.js';
import { retryOnLineFault } from './sysflash.js';

/**
 * The AT+SYSMFG commands of ESP-AT ≥ 3.1 (protocol §3): key-value pairs in the `mfg_nvs` partition.
 * Names are checked here, before anything is sent: the firmware refuses them only after parsing.
 */

/** NVS value types as AT+SYSMFG numbers them. */
export const MFG_TYPES = { u8: 1, i8: 2, u16: 3, i16: 4, u32: 5, i32: 6, string: 7, binary: 8 } as const;
export type MfgTypeName = keyof typeof MFG_TYPES;

/** Longest namespace or key name NVS accepts. */
export const MFG_MAX_NAME_LENGTH = 15;
/** Largest string/binary value AT+SYSMFG can write (firmware check `len - 1 <= 0x1FFE`). */
export const MFG_MAX_VALUE_LENGTH = 8191;

const NUMERIC_RANGES: Record<number, [number, number]> = {
  1: [0, 0xff],
  2: [-0x80, 0x7f],
  3: [0, 0xffff],
  4: [-0x8000, 0x7fff],
  5: [0, 0xffffffff],
  6: [-0x80000000, 0x7fffffff],
};

export interface MfgEntry {
  namespace: string;
  key: string;
  type: number;
}

export interface MfgValue extends MfgEntry {
  /** Raw bytes for string (7) and binary (8) values. */
  bytes?: Buffer;
  /** The number, for types 1–6. */
  number?: number;
}

interface Options {
  signal?: AbortSignal;
}

export function typeName(type: number): string {
  return (Object.keys(MFG_TYPES) as MfgTypeName[]).find((name) => MFG_TYPES[name] === type) ?? `type ${type}`;
}

/** InputError unless `name` is a usable namespace or key name. */
export function checkMfgName(name: string, what: 'namespace' | 'key'): void {
  if (name.length === 0) throw new InputError(`the ${what} name is empty`);
  if (name.length > MFG_MAX_NAME_LENGTH) {
    throw new InputError(`${what} name "${name}" is ${name.length} characters; NVS allows at most ${MFG_MAX_NAME_LENGTH}`, { details: { [what]: name } });
  }
  if (!/^[\x21-\x7e]+$/.test(name) || /["\\,]/.test(name)) {
    throw new InputError(`${what} name ${JSON.stringify(name)} may only hold printable characters other than quotes, commas and backslashes`, {
      details: { [what]: name },
    });
  }
}

export function checkMfgValueLength(length: number, what: string): void {
  if (length < 1 || length > MFG_MAX_VALUE_LENGTH) {
    throw new InputError(`${what} is ${length} bytes; AT+SYSMFG stores 1 to ${MFG_MAX_VALUE_LENGTH} bytes per key`, { details: { length } });
  }
}

/** The namespaces in mfg_nvs (`AT+SYSMFG?`). */
export async function listNamespaces(session: AtSession, options: Options = {}): Promise<string[]> {
  const answer = await session.command('AT+SYSMFG?', options);
  return answer.lines.map((line) => {
    const match = /^\+SYSMFG:"((?:[^"\\]|\\.)*)"$/.exec(line);
    if (!match) throw new ProtocolError(`unexpected line in the AT+SYSMFG? answer: ${quoteAnswerLine(line)}`);
    return match[1]!;
  });
}

/** The keys of a namespace with their types. An unknown namespace answers ERROR on the module. */
export async function listKeys(session: AtSession, namespace: string, options: Options = {}): Promise<MfgEntry[]> {
  checkMfgName(namespace, 'namespace');
  const answer = await retryOnLineFault(options, () => session.command(`AT+SYSMFG=1,${quoteAtString(namespace)}`, options));
  return answer.lines.map((line) => {
    const match = /^\+SYSMFG:"((?:[^"\\]|\\.)*)","((?:[^"\\]|\\.)*)",(\d+)$/.exec(line);
    if (!match) throw new ProtocolError(`unexpected line in the AT+SYSMFG key list: ${quoteAnswerLine(line)}`);
    return { namespace: match[1]!, key: match[2]!, type: Number(match[3]) };
  });
}

/** `+SYSMFG:"<ns>","<key>",<7|8>,<len>,` followed by len raw bytes (and a CR LF). */
const valuePayload: PayloadMatcher = {
  prefix: '+SYSMFG:',
  parse(text) {
    const match = /^\+SYSMFG:"(?:[^"\\]|\\.)*","(?:[^"\\]|\\.)*",[78],(\d{1,5}),/.exec(text);
    return match ? { headerLength: match[0].length, payloadLength: Number(match[1]) } : undefined;
  },
};

/** Read one value. */
export async function readValue(session: AtSession, namespace: string, key: string, options: Options = {}): Promise<MfgValue> {
  checkMfgName(namespace, 'namespace');
  checkMfgName(key, 'key');
  // Reads are idempotent: a garbled line end or answer costs a retry (see retryOnLineFault).
  const answer = await retryOnLineFault(options, () =>
    session.command(`AT+SYSMFG=1,${quoteAtString(namespace)},${quoteAtString(key)}`, {
      ...options,
      payload: valuePayload,
      responseBytes: MFG_MAX_VALUE_LENGTH,
    }),
  );
  if (answer.payload) {
    const type = /,([78]),\d+,$/.exec(answer.payloadHeader ?? '');
    return { namespace, key, type: type ? Number(type[1]) : MFG_TYPES.binary, bytes: answer.payload };
  }
  const line = answer.lines.find((l) => l.startsWith('+SYSMFG:'));
  const match = line && /^\+SYSMFG:"(?:[^"\\]|\\.)*","(?:[^"\\]|\\.)*",([1-6]),\d+,(-?\d+)$/.exec(line);
  if (!match) throw new ProtocolError(`unexpected answer reading ${namespace}/${key}: ${quoteAnswerLine(line ?? answer.lines[0] ?? '')}`);
  return { namespace, key, type: Number(match[1]), number: Number(match[2]) };
}

/** Write a string (7) or binary (8) value: command, `OK` + `>` prompt, exactly the bytes, OK. */
export async function writeBytes(session: AtSession, namespace: string, key: string, type: 7 | 8, bytes: Uint8Array, options: Options = {}): Promise<void> {
  checkMfgName(namespace, 'namespace');
  checkMfgName(key, 'key');
  checkMfgValueLength(bytes.length, `the value of ${namespace}/${key}`);
  if (type === MFG_TYPES.string && bytes.includes(0)) throw new InputError(`a string value cannot contain NUL bytes (${namespace}/${key}); store it as binary`);
  noteChangeSent(session, options.signal);
  // Writing the same value again is idempotent.
  await retryOnLineFault(options, () =>
    session.command(`AT+SYSMFG=2,${quoteAtString(namespace)},${quoteAtString(key)},${type},${bytes.length}`, {
      ...options,
      data: bytes,
      workTimeMs: 500,
    }),
  );
}

/** Write a numeric value (types 1–6), range-checked here (the firmware silently truncates u8/u16). */
export async function writeNumber(session: AtSession, namespace: string, key: string, type: number, value: number, options: Options = {}): Promise<void> {
  checkMfgName(namespace, 'namespace');
  checkMfgName(key, 'key');
  const range = NUMERIC_RANGES[type];
  if (!range) throw new InputError(`type ${type} is not a numeric AT+SYSMFG type (1–6)`);
  if (!Number.isInteger(value) || value < range[0] || value > range[1]) {
    throw new InputError(`${value} does not fit a ${typeName(type)} (${range[0]} to ${range[1]})`, { details: { value, type } });
  }
  noteChangeSent(session, options.signal);
  await session.command(`AT+SYSMFG=2,${quoteAtString(namespace)},${quoteAtString(key)},${type},${value}`, { ...options, workTimeMs: 500 });
}

/** Erase one key, or every key of the namespace when `key` is undefined. */
export async function eraseEntry(session: AtSession, namespace: string, key: string | undefined, options: Options = {}): Promise<void> {
  checkMfgName(namespace, 'namespace');
  if (key !== undefined) checkMfgName(key, 'key');
  const command = key === undefined ? `AT+SYSMFG=0,${quoteAtString(namespace)}` : `AT+SYSMFG=0,${quoteAtString(namespace)},${quoteAtString(key)}`;
  noteChangeSent(session, options.signal);
  await session.command(command, { ...options, workTimeMs: 500 });
}
