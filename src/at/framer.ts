/**
 * Turns the module's byte stream into tokens. ESP-AT output is not line-only: the write prompt is a
 * bare `>` with no line ending, and read responses carry raw binary (which may contain CR LF, `OK` or
 * `>`) framed by a length in a header. So this is a byte-level state machine, not a readline parser
 * (`@serialport/parser-readline` would keep the `>` in its buffer forever and mangle binary as utf8).
 *
 * What may be recognised depends on the command in flight, so the session arms the framer:
 * - `expectPrompt(true)`: a `>` at the start of a line is the prompt. Only while armed, so a stray `>`
 *   elsewhere is just text.
 * - `expectPayload(matcher)`: at the start of a line, a header the matcher recognises (e.g.
 *   `+SYSFLASH:100,`) is followed by exactly that many raw bytes.
 *
 * Both are one-shot: they disarm when they fire.
 */

export type Token =
  /** A line without its CR LF. Empty lines are dropped: they are only the leading CR LF of results. */
  | { kind: 'line'; text: string }
  /** The bare `>` data prompt. */
  | { kind: 'prompt' }
  /** A length-framed payload: the header text (e.g. `+SYSFLASH:100,`) and the raw bytes after it. */
  | { kind: 'payload'; header: string; bytes: Buffer };

/**
 * Recognises the header of a length-framed payload at the start of a line.
 * `prefix` is a literal the header starts with; `parse` gets the text from the start of the line and
 * returns the header's length in characters and the payload length, or undefined if this is no
 * (complete) header.
 */
export interface PayloadMatcher {
  readonly prefix: string;
  parse(text: string): { headerLength: number; payloadLength: number } | undefined;
}

/** Longest header we wait for before deciding a line is not one (guards against unbounded buffering). */
const MAX_HEADER_LENGTH = 160;
/** A line this long without a line ending is garbage; flush it so the buffer cannot grow forever. */
const MAX_LINE_LENGTH = 64 * 1024;

const LF = 0x0a;
const CR = 0x0d;
const PROMPT = 0x3e;

export class AtFramer {
  #buffer: Buffer = Buffer.alloc(0);
  #promptArmed = false;
  #payloadMatcher: PayloadMatcher | undefined;
  /** Bytes still owed to the payload being collected, and what has arrived so far. */
  #payload: { header: string; remaining: number; parts: Buffer[] } | undefined;

  constructor(private readonly emit: (token: Token) => void) {}

  expectPrompt(armed: boolean): void {
    this.#promptArmed = armed;
    if (armed) this.#drain();
  }

  expectPayload(matcher: PayloadMatcher | undefined): void {
    this.#payloadMatcher = matcher;
    if (matcher) this.#drain();
  }

  /** True while raw payload bytes are being collected (a timeout now means a truncated read). */
  get collectingPayload(): boolean {
    return this.#payload !== undefined;
  }

  /** Forget everything buffered and armed (after a reset or a resync). */
  reset(): void {
    this.#buffer = Buffer.alloc(0);
    this.#promptArmed = false;
    this.#payloadMatcher = undefined;
    this.#payload = undefined;
  }

  push(chunk: Uint8Array): void {
    this.#buffer = this.#buffer.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.#buffer, chunk]);
    this.#drain();
  }

  #drain(): void {
    while (this.#buffer.length > 0) {
      if (this.#payload) {
        if (!this.#takePayloadBytes()) return;
        continue;
      }
      if (this.#promptArmed && this.#buffer[0] === PROMPT) {
        this.#buffer = this.#buffer.subarray(1);
        this.#promptArmed = false;
        this.emit({ kind: 'prompt' });
        continue;
      }
      if (this.#payloadMatcher) {
        const decision = this.#matchPayloadHeader(this.#payloadMatcher);
        if (decision === 'wait') return;
        if (decision === 'started') continue;
      }
      if (!this.#takeLine()) return;
    }
  }

  /** Returns false when more bytes are needed. */
  #takePayloadBytes(): boolean {
    const payload = this.#payload!;
    const n = Math.min(payload.remaining, this.#buffer.length);
    payload.parts.push(this.#buffer.subarray(0, n));
    payload.remaining -= n;
    this.#buffer = this.#buffer.subarray(n);
    if (payload.remaining > 0) return false;
    this.#payload = undefined;
    this.emit({ kind: 'payload', header: payload.header, bytes: Buffer.concat(payload.parts) });
    return true;
  }

  #matchPayloadHeader(matcher: PayloadMatcher): 'started' | 'wait' | 'not-a-header' {
    const { prefix } = matcher;
    const head = this.#buffer.toString('latin1', 0, Math.min(this.#buffer.length, MAX_HEADER_LENGTH));
    if (head.length < prefix.length) {
      return prefix.startsWith(head) && !head.includes('\n') ? 'wait' : 'not-a-header';
    }
    if (!head.startsWith(prefix)) return 'not-a-header';
    const parsed = matcher.parse(head);
    if (parsed) {
      this.#payloadMatcher = undefined;
      this.#buffer = this.#buffer.subarray(parsed.headerLength);
      this.#payload = { header: head.slice(0, parsed.headerLength), remaining: parsed.payloadLength, parts: [] };
      if (parsed.payloadLength === 0) this.#takePayloadBytes();
      return 'started';
    }
    // Not (yet) a complete header: a line ending or an over-long head means it never will be.
    if (head.includes('\n') || head.length >= MAX_HEADER_LENGTH) return 'not-a-header';
    return 'wait';
  }

  /** Returns false when more bytes are needed. */
  #takeLine(): boolean {
    const lf = this.#buffer.indexOf(LF);
    if (lf < 0) {
      if (this.#buffer.length > MAX_LINE_LENGTH) {
        this.#emitLine(this.#buffer);
        this.#buffer = Buffer.alloc(0);
      }
      return false;
    }
    this.#emitLine(this.#buffer.subarray(0, lf));
    this.#buffer = this.#buffer.subarray(lf + 1);
    return true;
  }

  #emitLine(raw: Buffer): void {
    let end = raw.length;
    while (end > 0 && raw[end - 1] === CR) end--;
    let start = 0;
    while (start < end && raw[start] === CR) start++;
    if (end > start) this.emit({ kind: 'line', text: raw.toString('latin1', start, end) });
  }
}

/** `+SYSFLASH:<n>,` followed by n raw bytes (AT+SYSFLASH read, protocol §2.6). */
export const sysflashReadPayload: PayloadMatcher = {
  prefix: '+SYSFLASH:',
  parse(text) {
    const match = /^\+SYSFLASH:(\d{1,7}),/.exec(text);
    if (!match) return undefined;
    return { headerLength: match[0].length, payloadLength: Number(match[1]) };
  },
};
