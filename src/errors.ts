/**
 * The few error classes at-pki throws. Each has a stable `code` (for `--json`, the daemon API and
 * scripts) and the process exit code the CLI maps it to: 2 for bad input or usage (nothing was done
 * to a device), 1 for everything that went wrong while working.
 */

export type ErrorCode =
  | 'USAGE'
  | 'BAD_INPUT'
  | 'PORT_UNAVAILABLE'
  | 'TIMEOUT'
  | 'ABORTED'
  | 'DISCONNECTED'
  | 'DEVICE_ERROR'
  | 'PROTOCOL'
  | 'VERIFY_FAILED'
  | 'LEDGER_STATE'
  | 'BATCH_EXHAUSTED'
  | 'WRONG_UNIT'
  | 'LEDGER_UNAVAILABLE';

export interface AtPkiErrorOptions {
  cause?: unknown;
  /** Anything the user needs to act on, machine-readable (offset, partition, AT command...). */
  details?: Record<string, unknown>;
}

export abstract class AtPkiError extends Error {
  abstract readonly code: ErrorCode;
  abstract readonly exitCode: 1 | 2;
  readonly details: Record<string, unknown>;

  constructor(message: string, options: AtPkiErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.details = options.details ?? {};
  }

  toJSON(): { code: ErrorCode; message: string; details: Record<string, unknown> } {
    return { code: this.code, message: this.message, details: this.details };
  }
}

/** Command-line usage that makes no sense (missing argument, unknown option value). Exit 2. */
export class UsageError extends AtPkiError {
  readonly code = 'USAGE' as const;
  readonly exitCode = 2 as const;
}

/** Input we refuse before touching a device: unreadable or malformed files, bins that do not fit... Exit 2. */
export class InputError extends AtPkiError {
  readonly code = 'BAD_INPUT' as const;
  readonly exitCode = 2 as const;
}

/** The port cannot be opened: it does not exist, is locked by another process, or the URL is wrong. Exit 2. */
export class PortError extends AtPkiError {
  readonly code = 'PORT_UNAVAILABLE' as const;
  readonly exitCode = 2 as const;
}

/** A wait ran out of time. `details.waitingFor` says for what. */
export class TimeoutError extends AtPkiError {
  readonly code = 'TIMEOUT' as const;
  readonly exitCode = 1 as const;
}

/** The caller's AbortSignal fired. */
export class AbortedError extends AtPkiError {
  readonly code = 'ABORTED' as const;
  readonly exitCode = 1 as const;
}

/** The port went away (unplug, remote close) or was closed while something was waiting on it. */
export class DisconnectedError extends AtPkiError {
  readonly code = 'DISCONNECTED' as const;
  readonly exitCode = 1 as const;
}

/** The module answered ERROR (with the decoded `ERR CODE:` when it sent one), or reset mid-command. */
export class DeviceError extends AtPkiError {
  readonly code = 'DEVICE_ERROR' as const;
  readonly exitCode = 1 as const;
}

/**
 * The module echoed a command line that differs from the one sent (or echoed none): it may have run
 * another command than the one asked for. `details.sent`/`details.echoed` show both (echo quoted short).
 */
export class EchoMismatchError extends DeviceError {}

/** The module sent something that makes no sense for the command in flight (garbage, wrong lengths). */
export class ProtocolError extends AtPkiError {
  readonly code = 'PROTOCOL' as const;
  readonly exitCode = 1 as const;
}

/** What was read back is not what was written. Never a warning. */
export class VerifyError extends AtPkiError {
  readonly code = 'VERIFY_FAILED' as const;
  readonly exitCode = 1 as const;
}

/** A ledger record is not in a state that allows the change asked for (another process moved it, or a bug). */
export class LedgerStateError extends AtPkiError {
  readonly code = 'LEDGER_STATE' as const;
  readonly exitCode = 1 as const;
}

/** The batch has no credential set left for a new unit. Nothing was sent to the module beyond identification. */
export class BatchExhaustedError extends AtPkiError {
  readonly code = 'BATCH_EXHAUSTED' as const;
  readonly exitCode = 1 as const;
}

/** The unit on the port is not the one the work was meant for (or cannot be identified); nothing was written. */
export class WrongUnitError extends AtPkiError {
  readonly code = 'WRONG_UNIT' as const;
  readonly exitCode = 1 as const;
}

/** The ledger's database cannot be reached (PostgreSQL down or unreachable). No set was claimed while it was away. */
export class LedgerUnavailableError extends AtPkiError {
  readonly code = 'LEDGER_UNAVAILABLE' as const;
  readonly exitCode = 1 as const;
}

/** The exit code for any thrown value: ours carry one, anything else is an internal failure (1). */
export function exitCodeOf(error: unknown): 1 | 2 {
  return error instanceof AtPkiError ? error.exitCode : 1;
}

const BY_CODE: Record<ErrorCode, new (message: string, options?: AtPkiErrorOptions) => AtPkiError> = {
  USAGE: UsageError,
  BAD_INPUT: InputError,
  PORT_UNAVAILABLE: PortError,
  TIMEOUT: TimeoutError,
  ABORTED: AbortedError,
  DISCONNECTED: DisconnectedError,
  DEVICE_ERROR: DeviceError,
  PROTOCOL: ProtocolError,
  VERIFY_FAILED: VerifyError,
  LEDGER_STATE: LedgerStateError,
  BATCH_EXHAUSTED: BatchExhaustedError,
  WRONG_UNIT: WrongUnitError,
  LEDGER_UNAVAILABLE: LedgerUnavailableError,
};

/**
 * Rebuild an error that crossed a process boundary as `{code, message, details}` (the daemon's
 * job results), so it keeps its class and exit code. Unknown codes become a DeviceError.
 */
export function errorFromRecord(record: { code: string; message: string; details?: Record<string, unknown> }): AtPkiError {
  const ErrorClass = (BY_CODE as Record<string, (typeof BY_CODE)[ErrorCode] | undefined>)[record.code] ?? DeviceError;
  return new ErrorClass(record.message, { details: { ...record.details, code: record.code } });
}
