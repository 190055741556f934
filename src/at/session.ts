import { EventEmitter } from 'node:events';
import PQueue from 'p-queue';
import { AbortedError, AtPkiError, DeviceError, DisconnectedError, EchoMismatchError, InputError, TimeoutError } from '../errors.js';
import { delay, waitFor } from '../transport/abortable.js';
import type { Transport } from '../transport/transport.js';
import { describeErrorCode, formatErrorCode, parseErrorCodeLine } from './error-codes.js';
import { AtFramer, type PayloadMatcher, type Token } from './framer.js';
import { MAX_COMMAND_LENGTH, commandName, quoteAnswerLine, responsePrefix } from './syntax.js';
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

/** After `busy p...`, how long an answer may still come before the command counts as discarded. */
const BUSY_GRACE_MS = 100;

/** Before topping up owed data, how long the module's `>` may still take (it may be mid-command). */
const PROMPT_GRACE_MS = 100;

/** `AT` probes before a module counts as not answering (one may be eaten by a boot or garbage line). */
const RESYNC_ATTEMPTS = 3;

/** Times a command whose echo differs from what was sent is sent again before giving up. */
const ECHO_RETRIES = 3;

/**
 * Most 0xFF bytes sent to free a module stuck in data mode: covers every write at-pki sends (4 KiB)
 * and AT+SYSMFG's largest value (8191 bytes).
 */
const FLUSH_LIMIT = 8192;
/** 0xFF bytes per step while flushing; the module answers once it has what it waits for. */
const FLUSH_BLOCK = 512;
/** After each flush step, how long the module's OK/ERROR may take. */
const FLUSH_GRACE_MS = 120;

/** The module answered `busy p...`: our bytes were discarded, send again later. */
class BusyAnswer extends Error {}

/**
 * The module echoed another line than the one sent (or none). `harmless`: whatever it ran cannot have
 * changed anything (it refused it, or it was a write filled with 0xFF on flash); `mfgFill`: it was an
 * AT+SYSMFG write, now filled with 0xFF bytes under whatever key it named.
 */
class EchoDiffers extends Error {
  constructor(
    readonly echoed: string | undefined,
    readonly harmless: boolean,
    readonly mfgFill: boolean,
    readonly filledBytes: number,
  ) {
    super('echo differs');
  }
}

/** Read-only commands: if the module ran one of these instead of ours, nothing changed. */
function isReadOnlyCommand(line: string | undefined): boolean {
  if (line === undefined) return false;
  return /^AT(\+GMR|\+SYSFLASH\?|\+SYSMFG\?|\+SYSFLASH=2,.*|\+SYSMFG=1(,.*)?)?$/.test(line);
}

/** The data length a write command line promises (AT+SYSFLASH=1 or AT+SYSMFG=2 with type 7/8), if it parses. */
export function promisedDataLength(line: string | undefined): number | undefined {
  if (line === undefined) return undefined;
  const match = /^AT\+SYSFLASH=1,".*",\d+,(\d{1,5})$/.exec(line) ?? /^AT\+SYSMFG=2,".*",".*",[78],(\d{1,5})$/.exec(line);
  return match ? Number(match[1]) : undefined;
}

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
  #suspectEvents = 0;
  #flushedBytes = 0;
  /** A resync succeeded once: later surprises happen to a module we were talking to. */
  #everSynced = false;

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
      if (error instanceof AtPkiError && session.#flushedBytes > 0) error.details.flushedBytes = session.#flushedBytes;
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

  /**
   * How many times the module may have done something else than it was asked: a command whose echo
   * differed (and that was not provably harmless), a stuck data phase freed with 0xFF, an answer that
   * never came for a command whose echo was not seen. A flash operation that sees this count change
   * during its run must re-check everything the module could have touched.
   */
  get suspectEvents(): number {
    return this.#suspectEvents;
  }

  /** 0xFF bytes sent to free a module found stuck in data mode (an earlier write left unfinished). */
  get flushedBytes(): number {
    return this.#flushedBytes;
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
      // Echo stays on (it is on after every boot): each echo is checked against the command sent, the
      // only sign on an AT line that a command arrived garbled. ATE1 itself is not echoed when another
      // program had turned echo off.
      await this.#withBusyRetries('ATE1', { signal }, true);
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

  async #withBusyRetries(command: string, options: CommandOptions, echoOptional = false): Promise<AtResponse> {
    let echoRetries = 0;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#exchange(command, options, echoOptional);
      } catch (error) {
        if (error instanceof EchoDiffers) {
          if (!error.harmless) this.#suspectEvents++;
          const details = {
            command: commandName(command),
            sent: command,
            echoed: error.echoed === undefined ? null : quoteAnswerLine(error.echoed),
            echoedCommand: error.echoed !== undefined && /^AT[\x20-\x7e]*$/.test(error.echoed) && error.echoed.length <= MAX_COMMAND_LENGTH ? error.echoed : null,
            harmless: error.harmless,
            filledBytes: error.filledBytes,
          };
          this.#logger?.warn({ port: this.transport.url, command: commandName(command), harmless: error.harmless, filledBytes: error.filledBytes }, 'command echo differs');
          this.emit('echo-mismatch', details);
          // An AT+SYSMFG write filled with 0xFF left a value under a name only the caller can judge.
          if (!error.mfgFill && echoRetries < ECHO_RETRIES) {
            echoRetries++;
            attempt = -1;
            if (this.#needsResync) await this.#resync(options.signal);
            // No echo at all: echo may be off (a garbled ATE1 became ATE0). Turn it on again.
            if (error.echoed === undefined && !echoOptional) await this.#withBusyRetries('ATE1', { signal: options.signal }, true);
            continue;
          }
          throw new EchoMismatchError(
            `the module echoed ${error.echoed === undefined ? 'nothing' : quoteAnswerLine(error.echoed)} for ${commandName(command)}${error.mfgFill ? `; the write was filled with ${error.filledBytes} bytes of 0xFF` : ` (${echoRetries + 1} times)`}`,
            { details },
          );
        }
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
  async #exchange(command: string, options: CommandOptions, echoOptional = false): Promise<AtResponse> {
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
    // Armed for every command: a garbled read can become a write, and a module waiting for data must be
    // filled with 0xFF (a no-op on flash), never fed our next command lines.
    this.#framer.expectPrompt(true);
    this.#framer.expectPayload(options.payload);
    /** Whether the module's echo of the command line has been seen and matched. */
    let echo: 'pending' | 'ok' | 'differs' = echoOptional ? 'ok' : 'pending';
    let echoed: string | undefined;
    let okBeforePrompt = false;

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
          if (busySeen && echo === 'pending' && error instanceof TimeoutError && (phase === 'answer' || phase === 'prompt')) throw new BusyAnswer();
          // A garbled AT+SYSMFG write ran as something that answered OK and no prompt follows.
          if (echo === 'differs' && okBeforePrompt && error instanceof TimeoutError) throw new EchoDiffers(echoed, false, false, 0);
          // No answer, and we never saw what the module made of our line: it may have run something else.
          if (echo !== 'ok' && error instanceof TimeoutError) this.#suspectEvents++;
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
          if (echo !== 'ok' || phase !== 'prompt' || !data) {
            // The module waits for data of a command we did not send as such (its echo differs, or a
            // read became a write). Give it 0xFF bytes — on flash a no-op — never the data, then send
            // ours again. On AT+SYSMFG the bytes become a value: the caller must find and erase it.
            const length = Math.max(promisedDataLength(echoed) ?? 0, data?.length ?? 0);
            const filled = await this.#fillDataMode(length, inbox);
            this.#dataOwed = 0;
            throw new EchoDiffers(echoed, !okBeforePrompt && filled.answer !== undefined, okBeforePrompt, filled.bytes);
          }
          phase = 'data';
          this.#dataOwed = data.length;
          await this.#write(data);
          phase = 'result';
          deadline = performance.now() + timeoutMs + this.wireTimeMs(data.length) + (options.workTimeMs ?? 0);
          continue;
        }
        if (token.kind === 'payload') {
          if (echo === 'pending') echo = 'differs';
          payload = { bytes: token.bytes, header: token.header };
          continue;
        }

        const line = token.text;
        if (line === command) {
          if (echo === 'pending') echo = 'ok';
          continue;
        }
        if (line === 'OK' || line === 'SEND OK') {
          if (phase === 'prompt') {
            // AT+SYSMFG prompts with OK, blank line, `>`. After a garbled echo the `>` may never come.
            okBeforePrompt = true;
            if (echo !== 'ok') deadline = Math.min(deadline, performance.now() + PROMPT_GRACE_MS + this.wireTimeMs(8));
            continue;
          }
          this.#dataOwed = 0;
          if (echo !== 'ok') {
            // It ran something: harmless only if both what we sent and what it echoed only read.
            throw new EchoDiffers(echoed, echo === 'differs' && isReadOnlyCommand(command) && isReadOnlyCommand(echoed), false, 0);
          }
          result = 'ok';
          return payload === undefined ? { lines } : { lines, payload: payload.bytes, payloadHeader: payload.header };
        }
        if (line === 'ERROR' || line === 'FAIL' || line === 'SEND FAIL') {
          this.#dataOwed = 0;
          // Refused: a garbled line the module refused changed nothing; a missing echo tells us nothing.
          if (echo !== 'ok') throw new EchoDiffers(echoed, echo === 'differs', false, 0);
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
        if (echo === 'pending') {
          // The first line of the answer is the module's echo of what it received: not our line.
          echo = 'differs';
          echoed = line;
          continue;
        }
        lines.push(line);
      }
    } catch (error) {
      result = classify(error, result);
      if (!(error instanceof BusyAnswer) && !(error instanceof DeviceError) && !(error instanceof EchoDiffers)) this.#needsResync = true;
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
   * The module is in data mode for a write we did not mean: send `length` bytes of 0xFF (writing 0xFF
   * changes nothing on NOR flash), then more in blocks until it answers (it may want more than it
   * promised in an echo garbled on the way back), at most FLUSH_LIMIT. Bytes it did not want end up in
   * its line buffer: the next command resynchronises first.
   */
  async #fillDataMode(length: number, inbox: TokenInbox): Promise<{ answer: string | undefined; bytes: number }> {
    let sent = 0;
    let answer: string | undefined;
    if (length > 0) {
      await this.#write(Buffer.alloc(length, 0xff));
      sent = length;
      answer = await this.#awaitResult(inbox, performance.now() + this.wireTimeMs(length) + this.#options.commandTimeoutMs);
    }
    while (answer === undefined && sent < FLUSH_LIMIT) {
      await this.#write(Buffer.alloc(FLUSH_BLOCK, 0xff));
      sent += FLUSH_BLOCK;
      answer = await this.#awaitResult(inbox, performance.now() + this.wireTimeMs(FLUSH_BLOCK) + FLUSH_GRACE_MS);
    }
    this.#needsResync = true;
    this.#logger?.warn({ port: this.transport.url, bytes: sent, answer: answer ?? 'none' }, 'module in data mode for a garbled command; filled with 0xFF');
    return { answer, bytes: sent };
  }

  /**
   * The module went quiet after we sent the data: some bytes were probably lost on the wire, so it is
   * still in data mode waiting for them (it has no timeout). Top the write up with 0xFF — on NOR
   * flash writing 0xFF changes nothing — until it answers, then tell the caller what happened. The
   * chunk's content is unknown now: the caller must verify (or rewrite) it.
   */
  async #recoverStalledData(name: string, length: number, inbox: TokenInbox, cause: unknown): Promise<never> {
    // Blocks: whatever the module did not need is left in its line buffer (the next command resyncs).
    const block = Buffer.alloc(Math.min(FLUSH_BLOCK, length), 0xff);
    let sent = 0;
    let answer: string | undefined;
    while (sent < length && answer === undefined) {
      const n = Math.min(block.length, length - sent);
      await this.#write(block.subarray(0, n));
      sent += n;
      const deadline = performance.now() + this.wireTimeMs(n) + FLUSH_GRACE_MS;
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
      // OK to a bare line end: it completed a data phase we did not know of (2 bytes written as data).
      if ((await this.#awaitResult(inbox, performance.now() + 100)) === 'OK' && this.#everSynced) this.#suspectEvents++;
      let flushed = false;
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
          this.#everSynced = true;
          this.#framer.reset();
          return;
        }
        if (answer === undefined && !flushed) {
          // No answer at all: the module may sit in a data phase (an earlier program or run cut off
          // mid-write; it has no timeout) and took our AT as data. Fill it with 0xFF until it answers.
          flushed = true;
          const bytes = await this.#flush(inbox, signal);
          if (bytes > 0) attempt = -1;
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

  /**
   * Send 0xFF in blocks until the module answers OK or ERROR (at most FLUSH_LIMIT bytes), then end the
   * line. Returns the bytes sent, 0 when it never answered (then it is not stuck in data mode).
   */
  async #flush(inbox: TokenInbox, signal?: AbortSignal): Promise<number> {
    let sent = 0;
    while (sent < FLUSH_LIMIT) {
      if (signal?.aborted) throw new AbortedError('cancelled while freeing the module from data mode', { cause: signal.reason });
      await this.#write(Buffer.alloc(FLUSH_BLOCK, 0xff));
      sent += FLUSH_BLOCK;
      const answer = await this.#awaitResult(inbox, performance.now() + this.wireTimeMs(FLUSH_BLOCK) + FLUSH_GRACE_MS);
      if (answer === 'OK' || answer === 'ERROR') {
        this.#flushedBytes += sent;
        this.#suspectEvents++;
        this.#logger?.warn({ port: this.transport.url, bytes: sent, answer }, 'module was stuck in data mode; freed it with 0xFF');
        this.emit('flushed', { bytes: sent, answer });
        await this.#write(Buffer.from('\r\n', 'latin1'));
        await this.#awaitResult(inbox, performance.now() + 100);
        return sent;
      }
    }
    return 0;
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

