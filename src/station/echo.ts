/**
 * What of a client's own text the API may repeat in an answer (and so in logs and scripts' output):
 * a field name or value is named back only when it is short and plain. Anything a client sends can
 * be a secret pasted into the wrong place; a long or odd one is described by its length only.
 */

/** Short and plain: up to 24 letters, digits, `_`, `.` or `-` (36 for a job id, a UUID). */
export const PLAIN_TEXT = /^[A-Za-z0-9_.-]{1,24}$/;
const JOB_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function isPlain(text: string): boolean {
  return PLAIN_TEXT.test(text) || JOB_ID.test(text);
}

/** `"nope"` for plain text, else `a 57-character string`. */
export function echoString(text: string): string {
  return isPlain(text) ? JSON.stringify(text) : `a ${text.length}-character string`;
}

/** A request path, when it is made of path-safe characters and not long; else `this path`. */
export function echoPath(path: string): string {
  return /^[A-Za-z0-9_./-]{1,64}$/.test(path) ? path : 'this path';
}

/** A JSON value of a request, for a message: plain strings quoted, other strings by length, other values by kind. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string') return echoString(value);
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}
