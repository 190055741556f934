import { EventEmitter } from 'node:events';
import PQueue from 'p-queue';
import { AbortedError, AtPkiError, DeviceError, DisconnectedError, InputError, TimeoutError } from '../errors.js';
import { delay, waitFor } from '../transport/abortable.js';
import type { Transport } from '../transport/transport.js';
import { describeErrorCode, formatErrorCode, parseErrorCodeLine } from './error-codes.js';
import { AtFramer, type PayloadMatcher, type Token } from './framer.js';
import { MAX_COMMAND_LENGTH, commandName, responsePrefix } from './syntax.js';
import { TokenInbox } from './token-inbox.js';
import { isResetLine, isUnsolicitedLine } from './unsolicited.js';

/** The part of a pino logger the session uses. */
export interface SessionLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface AtSessionOptions {
  /** Time allowed for an ordinary command's answer, in ms. @default 3000 */
  commandTimeoutMs?: number;
  /** How many times a command answered `busy p...` is sent again. @default 6 */
  busyRetries?: number;
  /** Wait before the first resend after `busy p...`; doubles each time. @default 50 */
  busyBackoffMs?: number;
  /** Send `AT+SYSLOG=1` on connect so errors come with an `ERR CODE:`. @default true */
  enableSyslog?: boolean;
  logger?: SessionLogger;
}

export interface CommandOptions {
  /** Overrides the session's commandTimeoutMs for each wait of this command. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /**
   * Raw bytes to send after the module's `>` prompt. Nothing is sent before the prompt arrives: the
   * firmware discards bytes received before it (protocol §2.5).
   */
  data?: Uint8Array;
  /** The answer carries a length-framed payload of this shape (e.g. a SYSFLASH read). */
  payload?: PayloadMatcher;
  /** Bytes the answer will carry; their wire time is added to the timeout. */
  responseBytes?: number;
  /** Time the module needs for its own work (flash erase/program), added to the final wait. */
  workTimeMs?: number;
}

export interface AtResponse {
  /** Information lines of the answer (echo, URCs, `OK` removed). */
  lines: string[];
  /** The length-framed payload, when `payload` was asked for. */
  payload?: Buffer;
  /** The header that framed it, e.g. `+SYSMFG:"client_cert","client_cert.0",8,1164,`. */
  payloadHeader?: string;
}

/** Emitted after every command, for metrics. */
export interface CommandEvent {
  name: string;
  durationMs: number;
  result: 'ok' | 'error' | 'timeout' | 'disconnected' | 'aborted' | 'busy';
}

const DEFAULTS = {
  commandTimeoutMs: 3000,
  busyRetries: 6,
  busyBackoffMs: 50,
  enableSyslog: true,
};

/** Lines that end a command. */
const RESULT_LINES: readonly string[] = ['OK', 'ERROR', 'FAIL', 'SEND OK', 'SEND FAIL'];

/** Bytes of 0xFF sent at a time when topping up a stalled data phase. */
const TOP_UP_BLOCK = 64;

/** After `busy p...`, how long an answer may still come before the command counts as discarded. */
const BUSY_GRACE_MS = 100;

/** Before topping up owed data, how long the module's `>` may still take (it may be mid-command). */
const PROMPT_GRACE_MS = 100;

/** `AT` probes before a module counts as not answering (one may be eaten by a boot or garbage line). */
const RESYNC_ATTEMPTS = 3;

/** The module answered `busy p...`: our bytes were discarded, send again later. */
class BusyAnswer extends Error {}

/**
 * One conversation with one module: one command at a time (p-queue with concurrency 1), each answer
 * matched by a waiter registered before the command is written, every wait bounded by a deadline and
 * the caller's AbortSignal.
 *
 * Events: `unsolicited` (line) for URCs, `reset` when the module printed `ready` on its own,
 * `command` (CommandEvent) after each command, `recovered` (details) after a stalled data phase.
 */
export class AtSession extends EventEmitter {
  readonly transport: Transport;
  readonly #options: Required<Omit<AtSessionOptions, 'logger'>>;
  readonly #logger: SessionLogger | undefined;
  readonly #queue = new PQueue({ concurrency: 1 });
  readonly #framer: AtFramer;
  #inbox: TokenInbox | undefined;
  #closedWith: Error | undefined;
  /** Echo/SYSLOG must be (re)configured: at connect and after every module reset. */
  #needsInit = true;
  /**
   * Make sure the module is in command mode and answering before the next command: at connect (it may
   * be booting, or left in data mode by an earlier program) and after any exchange that ended uncleanly.
   */
  #needsResync = true;
  /** The module may still be waiting for this many data bytes (a prompt or data phase was cut short). */
  #dataOwed = 0;
  #syslog = false;

  constructor(transport: Transport, options: AtSessionOptions = {}) {
    super();
    this.transport = transport;
    this.#options = { ...DEFAULTS, ...stripUndefined(options) };
    this.#logger = options.logger;
    this.#framer = new AtFramer((token) => this.#onToken(token));
    transport.on('data', this.#onData);
    transport.on('close', this.#onClose);
  }

  /** Open a session on a transport: sync with `AT`, turn echo off, turn error codes on. */
  static async connect(transport: Transport, options: AtSessionOptions & { signal?: AbortSignal } = {}): Promise<AtSession> {
    const session = new AtSession(transport, options);
    try {
      await session.#queue.add(() => session.#prepare(options.signal));
    } catch (error) {
      session.dispose();
      throw error;
    }
    return session;
  }

  get isOpen(): boolean {
    return this.#closedWith === undefined && this.transport.isOpen;
  }

  /** True when `AT+SYSLOG=1` was accepted (errors come with a decoded reason). */
  get errorCodesEnabled(): boolean {
    return this.#syslog;
  }

  /** Commands waiting behind the one in flight. */
  get pending(): number {
    return this.#queue.size + this.#queue.pending;
  }

  /**
   * Send one command and wait for its final result. Rejects with DeviceError (ERROR, or the module
   * reset), TimeoutError, AbortedError or DisconnectedError.
   */
  command(command: string, options: CommandOptions = {}): Promise<AtResponse> {
    if (command.includes('\r') || command.includes('\n')) {
      return Promise.reject(new InputError(`an AT command cannot contain a line break: ${JSON.stringify(command)}`));
    }
    if (command.length + 2 > MAX_COMMAND_LENGTH) {
      return Promise.reject(new InputError(`AT command longer than ${MAX_COMMAND_LENGTH - 2} characters: ${commandName(command)}`));
    }
    return this.#queue.add(async () => {
      await this.#prepare(options.signal);
      return this.#withBusyRetries(command, options);
    });
  }

  /** Stop listening to the transport (it stays open: the caller owns it). Pending commands fail. */
  dispose(): void {
    this.transport.off('data', this.#onData);
    this.transport.off('close', this.#onClose);
    this.#fail(new DisconnectedError(`session on ${this.transport.url} was closed`));
  }

  /** Wire time of `bytes` at the current line rate (8N1: 10 bits a byte), in ms. */
  wireTimeMs(bytes: number): number {
    return (bytes * 10 * 1000) / Math.max(1, this.transport.baudRate);
  }

  readonly #onData = (chunk: Buffer): void => {
    this.#framer.push(chunk);
  };

  readonly #onClose = (error?: Error): void => {
    this.#fail(error instanceof DisconnectedError ? error : new DisconnectedError(`port ${this.transport.url} closed`, { cause: error }));
  };

  #fail(error: Error): void {
    this.#closedWith ??= error;
    this.#inbox?.fail(this.#closedWith);
  }

  #onToken(token: Token): void {
    if (this.#inbox) {
      this.#inbox.deliver(token);
      return;
    }
    if (token.kind !== 'line') return;
    this.#onUnsolicited(token.text);
  }

  #onUnsolicited(line: string): void {
    if (isResetLine(line)) {
      this.#needsInit = true;
      this.#logger?.warn({ port: this.transport.url, line }, 'module restarted');
      this.emit('reset', line);
      return;
    }
    // Only known module messages are logged as they are: anything else may be the late answer of an
    // earlier command (a read of a private key, say), and a log is no place for those bytes.
    this.#logger?.debug({ port: this.transport.url, ...(isUnsolicitedLine(line) ? { line } : { unknownLineLength: line.length }) }, 'unsolicited line');
    this.emit('unsolicited', line);
  }

  /** Bring the module to a known state before a command: resync after trouble, re-init after a reset. */
  async #prepare(signal?: AbortSignal): Promise<void> {
    if (this.#closedWith) throw this.#closedWith;
    if (this.#needsResync) await this.#resync(signal);
    if (this.#needsInit) {
      // ATE0 first: until then every answer is preceded by our own command (tolerated anyway).
      await this.#withBusyRetries('ATE0', { signal });
      this.#needsInit = false;
      if (this.#options.enableSyslog) {
        try {
          await this.#withBusyRetries('AT+SYSLOG=1', { signal });
          this.#syslog = true;
        } catch (error) {
          if (!(error instanceof DeviceError)) throw error;
          this.#syslog = false; // older firmware: plain ERROR without codes
        }
      }
    }
  }

  async #withBusyRetries(command: string, options: CommandOptions): Promise<AtResponse> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#exchange(command, options);
      } catch (error) {
        if (!(error instanceof BusyAnswer)) throw error;
        if (attempt >= this.#options.busyRetries) {
          throw new DeviceError(`module stayed busy: ${commandName(command)} was refused ${attempt + 1} times with "busy p..."`, {
            details: { command: commandName(command) },
          });
        }
        const backoff = this.#options.busyBackoffMs * 2 ** attempt;
        this.#logger?.debug({ port: this.transport.url, command: commandName(command), backoff }, 'module busy, retrying');
        await this.#quietPeriod(backoff, options.signal);
      }
    }
  }

  /** Let the module finish what it is doing; whatever it says meanwhile is not an answer to us. */
  #quietPeriod(ms: number, signal?: AbortSignal): Promise<void> {
    return delay(ms, signal, 'the module to stop being busy');
  }

  /** One command, written once, and its answer. */
  async #exchange(command: string, options: CommandOptions): Promise<AtResponse> {
    if (this.#closedWith) throw this.#closedWith;
    const name = commandName(command);
    if (options.signal?.aborted) {
      // Cancelled before anything was sent: do not send it (a half-started write would need a top-up).
      const reason = options.signal.reason instanceof Error ? options.signal.reason.message : String(options.signal.reason ?? 'aborted');
      throw new AbortedError(`cancelled before sending ${name}: ${reason}`, { cause: options.signal.reason });
    }
    const started = performance.now();
    const timeoutMs = options.timeoutMs ?? this.#options.commandTimeoutMs;
    const data = options.data;
    const prefix = responsePrefix(command);
    const inbox = new TokenInbox();
    this.#inbox = inbox;
    this.#framer.expectPrompt(data !== undefined);
    this.#framer.expectPayload(options.payload);

    let phase: 'answer' | 'prompt' | 'data' | 'result' = data ? 'prompt' : 'answer';
    let result: CommandEvent['result'] = 'error';
    const lines: string[] = [];
    let payload: { bytes: Buffer; header: string } | undefined;
    let errorCode: number | undefined;
    let busySeen = false;
    try {
      this.#logger?.debug({ port: this.transport.url, command: redactCommand(command) }, 'AT command');
      await this.#write(Buffer.from(`${command}\r\n`, 'latin1'));
      let deadline = performance.now() + timeoutMs + (data ? 0 : this.#answerAllowance(options));
      for (;;) {
        const waitingFor = phase === 'prompt' ? `the ">" prompt after ${name}` : `the answer to ${name}`;
        // Once data is on its way, a cancel would leave the module in data mode: finish the command.
        const signal = phase === 'answer' || phase === 'prompt' ? options.signal : undefined;
        let token: Token;
        try {
          token = await inbox.next(deadline, waitingFor, signal);
        } catch (error) {
          // `busy p...` and then nothing: it was our command the module discarded. Send it again.
          if (busySeen && error instanceof TimeoutError && (phase === 'answer' || phase === 'prompt')) throw new BusyAnswer();
          if (phase === 'prompt' && data) {
            // The prompt may just have been lost: the module could be in data mode waiting for us.
            this.#dataOwed = data.length;
          }
          if (phase === 'result' && data) {
            return await this.#recoverStalledData(name, data.length, inbox, error);
          }
          throw error;
        }

        if (token.kind === 'prompt') {
          if (phase !== 'prompt' || !data) continue;
          phase = 'data';
          this.#dataOwed = data.length;
          await this.#write(data);
          phase = 'result';
          deadline = performance.now() + timeoutMs + this.wireTimeMs(data.length) + (options.workTimeMs ?? 0);
          continue;
        }
        if (token.kind === 'payload') {
          payload = { bytes: token.bytes, header: token.header };
          continue;
        }

        const line = token.text;
        if (line === command) continue; // echo: tolerated anywhere
        if (line === 'OK' || line === 'SEND OK') {
          if (phase === 'prompt') continue; // AT+SYSMFG prompts with OK, blank line, `>`
          this.#dataOwed = 0;
          result = 'ok';
          return payload === undefined ? { lines } : { lines, payload: payload.bytes, payloadHeader: payload.header };
        }
        if (line === 'ERROR' || line === 'FAIL' || line === 'SEND FAIL') {
          this.#dataOwed = 0;
          throw deviceError(name, errorCode);
        }
        const code = parseErrorCodeLine(line);
        if (code === 0x010b0000 || line === 'busy p...') {
          // Some chunk was discarded because the module was busy: ours, or one it got earlier. If ours,
          // no answer will come; if not, ours is still coming. Wait a little before deciding.
          if (phase !== 'result') {
            busySeen = true;
            deadline = Math.min(deadline, performance.now() + BUSY_GRACE_MS + this.wireTimeMs(command.length + 2));
          }
          continue;
        }
        if (code !== undefined) {
          errorCode = code;
          continue;
        }
        if (isResetLine(line)) {
          this.#needsInit = true;
          this.#dataOwed = 0;
          this.emit('reset', line);
          throw new DeviceError(`the module restarted (it printed "${line}") during ${name}`, { details: { command: name } });
        }
        if (isUnsolicitedLine(line) && !(prefix && line.startsWith(`${prefix}:`))) {
          this.#onUnsolicited(line);
          continue;
        }
        lines.push(line);
      }
    } catch (error) {
      result = classify(error, result);
      if (!(error instanceof BusyAnswer) && !(error instanceof DeviceError)) this.#needsResync = true;
      throw error;
    } finally {
      this.#inbox = undefined;
      this.#framer.expectPrompt(false);
      this.#framer.expectPayload(undefined);
      const event: CommandEvent = { name, durationMs: performance.now() - started, result };
      this.emit('command', event);
    }
  }

  /** Extra time for an answer that carries bytes or needs flash work. */
  #answerAllowance(options: CommandOptions): number {
    return (options.responseBytes ? this.wireTimeMs(options.responseBytes) * 1.5 : 0) + (options.workTimeMs ?? 0);
  }

  /**
   * The module went quiet after we sent the data: some bytes were probably lost on the wire, so it is
   * still in data mode waiting for them (it has no timeout). Top the write up with 0xFF — on NOR
   * flash writing 0xFF changes nothing — until it answers, then tell the caller what happened. The
   * chunk's content is unknown now: the caller must verify (or rewrite) it.
   */
  async #recoverStalledData(name: string, length: number, inbox: TokenInbox, cause: unknown): Promise<never> {
    // Small blocks: whatever the module did not need is left in its line buffer as a garbage line.
    const block = Buffer.alloc(Math.min(TOP_UP_BLOCK, length), 0xff);
    let sent = 0;
    let answer: string | undefined;
    while (sent < length && answer === undefined) {
      const n = Math.min(block.length, length - sent);
      await this.#write(block.subarray(0, n));
      sent += n;
      const deadline = performance.now() + this.wireTimeMs(n) + 250;
      answer = await this.#awaitResult(inbox, deadline);
    }
    if (answer === undefined) {
      answer = await this.#awaitResult(inbox, performance.now() + this.#options.commandTimeoutMs);
    }
    this.#dataOwed = 0;
    // Surplus 0xFF bytes may sit in the module's command line buffer: end that line before the next command.
    this.#needsResync = true;
    const details = { command: name, toppedUpBytes: sent, answer: answer ?? 'none' };
    this.emit('recovered', details);
    this.#logger?.warn({ port: this.transport.url, ...details }, 'data phase stalled; topped up with 0xFF');
    if (answer === undefined) {
      this.#needsResync = true;
      throw new TimeoutError(`${name} stalled in data mode and the module did not answer even after ${sent} bytes of 0xFF top-up`, {
        cause,
        details,
      });
    }
    throw new DeviceError(
      `${name} stalled in data mode (bytes lost on the line); topped up with ${sent} bytes of 0xFF, module answered ${answer}; the written range is unverified`,
      { cause, details },
    );
  }

  /** Wait for OK/ERROR (or another of `terminals`) until the deadline; undefined if none came. */
  async #awaitResult(inbox: TokenInbox, deadline: number, terminals: readonly string[] = RESULT_LINES): Promise<string | undefined> {
    for (;;) {
      let token: Token;
      try {
        token = await inbox.next(deadline, 'the module to leave data mode');
      } catch (error) {
        if (error instanceof TimeoutError) return undefined;
        throw error;
      }
      if (token.kind === 'line' && terminals.includes(token.text)) return token.text;
    }
  }

  /** Wait for the `>` prompt (true) or a final OK/ERROR (its text) until the deadline; undefined if neither came. */
  async #awaitPromptOrResult(inbox: TokenInbox, deadline: number): Promise<'prompt' | string | undefined> {
    for (;;) {
      let token: Token;
      try {
        token = await inbox.next(deadline, 'the module to prompt for data');
      } catch (error) {
        if (error instanceof TimeoutError) return undefined;
        throw error;
      }
      if (token.kind === 'prompt') return 'prompt';
      if (token.kind === 'line' && RESULT_LINES.includes(token.text)) return token.text;
    }
  }

  /**
   * After a timeout or an abort the module may be mid-answer, or in data mode. Top up any data it may
   * still expect with 0xFF (harmless: bytes it does not want are a garbage line), end the line, then
   * `AT` until it answers OK.
   */
  async #resync(signal?: AbortSignal): Promise<void> {
    const inbox = new TokenInbox();
    this.#inbox = inbox;
    try {
      if (this.#dataOwed > 0) {
        // The command may have been cut off (timeout, cancel) before its `>` came: the module may still
        // be on its way to the prompt, and bytes it gets before the prompt are discarded as busy input
        // (then it would swallow our next commands as data). Give the prompt a moment first; an
        // OK/ERROR instead means the module is not in data mode at all.
        this.#framer.expectPrompt(true);
        const before = await this.#awaitPromptOrResult(inbox, performance.now() + PROMPT_GRACE_MS + this.wireTimeMs(64));
        this.#framer.expectPrompt(false);
        if (before === 'OK' || before === 'ERROR') {
          this.#dataOwed = 0;
        } else {
          this.#logger?.warn({ port: this.transport.url, bytes: this.#dataOwed }, 'module may be in data mode; topping up with 0xFF');
          await this.#write(Buffer.alloc(this.#dataOwed, 0xff));
          await this.#awaitResult(inbox, performance.now() + this.wireTimeMs(this.#dataOwed) + 500);
          this.#dataOwed = 0;
        }
      }
      await this.#write(Buffer.from('\r\n', 'latin1'));
      await this.#awaitResult(inbox, performance.now() + 100);
      for (let attempt = 0; attempt < RESYNC_ATTEMPTS; attempt++) {
        if (signal?.aborted) throw new AbortedError('cancelled while resynchronising with the module', { cause: signal.reason });
        await this.#write(Buffer.from('AT\r\n', 'latin1'));
        const answer = await this.#awaitResult(inbox, performance.now() + this.#options.commandTimeoutMs, [...RESULT_LINES, 'busy p...']);
        if (answer === 'busy p...') {
          // Still working on something from before: give it time, then ask again.
          await this.#quietPeriod(this.#options.busyBackoffMs * 2 ** attempt, signal);
          continue;
        }
        if (answer === 'OK') {
          this.#needsResync = false;
          this.#framer.reset();
          return;
        }
      }
      throw new TimeoutError(
        `the module on ${this.transport.url} does not answer AT (tried ${RESYNC_ATTEMPTS} times): check the port, the baud rate, the wiring, and that it runs ESP-AT firmware`,
        { details: { waitingFor: 'AT → OK' } },
      );
    } finally {
      this.#inbox = undefined;
    }
  }

  /** Hand bytes to the transport; a port stalled by flow control must not hold us forever either. */
  async #write(bytes: Uint8Array): Promise<void> {
    if (this.#closedWith) throw this.#closedWith;
    await waitFor(this.transport.write(bytes), {
      what: `sending ${bytes.length} bytes to ${this.transport.url}`,
      timeoutMs: 2 * this.wireTimeMs(bytes.length) + this.#options.commandTimeoutMs,
    });
  }
}

function deviceError(name: string, code: number | undefined): DeviceError {
  const reason = code === undefined ? '' : `: ${describeErrorCode(code)} (ERR CODE ${formatErrorCode(code)})`;
  return new DeviceError(`module answered ERROR to ${name}${reason}`, {
    details: code === undefined ? { command: name } : { command: name, errorCode: formatErrorCode(code) },
  });
}

function classify(error: unknown, fallback: CommandEvent['result']): CommandEvent['result'] {
  if (error instanceof BusyAnswer) return 'busy';
  if (error instanceof TimeoutError) return 'timeout';
  if (error instanceof DisconnectedError) return 'disconnected';
  if (error instanceof AbortedError) return 'aborted';
  if (error instanceof AtPkiError) return 'error';
  return fallback;
}

/** Only the command's name and numeric parameters go to logs; strings may be user data. */
function redactCommand(command: string): string {
  return command.replace(/"(?:[^"\\]|\\.)*"/g, (s) => (s.length > 34 ? `"…"` : s));
}

function stripUndefined<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<T>;
}

