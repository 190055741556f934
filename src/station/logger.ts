/**
 * The daemon's pino logger: JSON lines on stdout (journald picks them up), one child per port and per
 * job. What is logged is chosen so that no credential can appear (jobs are logged by their summary:
 * partition, bin size and SHA-256; AT commands by name and numbers only). `redact` is the second
 * line of defence, for fields that must never be printed even if someone logs a whole object.
 */
import pino, { type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from './config.js';

export type StationLogger = Logger;

/** Paths censored in every log line, whatever object they appear in. */
export const REDACT_PATHS: readonly string[] = [
  'token',
  '*.token',
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'source.base64',
  'source.items',
  '*.source.base64',
  '*.source.items',
  'base64',
  '*.base64',
  'pem',
  '*.pem',
  'data',
  'result.data',
  '*.result.data',
  'bin',
  '*.bin',
];

export interface StationLoggerOptions {
  level: LogLevel;
  /** Where the lines go. @default stdout, synchronous (a line is out before a crash) */
  destination?: DestinationStream;
  /** Fields on every line. */
  base?: Record<string, unknown>;
}

export function createStationLogger(options: StationLoggerOptions): StationLogger {
  const destination = options.destination ?? pino.destination({ dest: 1, sync: true });
  return pino(
    {
      level: options.level,
      base: { name: 'at-pki-daemon', pid: process.pid, ...options.base },
      redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}
