/**
 * Progress of an operation on a module. The CLI's `--json` lines and the daemon's event stream carry
 * exactly these shapes (plus `begin` and `end`, added by whoever runs the operation).
 */

export type Phase = 'connect' | 'compare' | 'erase' | 'write' | 'read' | 'verify';

export interface ProgressEvent {
  type: 'progress';
  phase: Phase;
  /** Bytes (or sectors, for erase) done in this phase so far, and the phase's total. */
  done: number;
  total: number;
  unit: 'bytes' | 'sectors';
}

export interface LogEvent {
  type: 'log';
  level: 'info' | 'warn';
  message: string;
}

export type OperationEvent = ProgressEvent | LogEvent;

export type EventSink = (event: OperationEvent) => void;

export const ignoreEvents: EventSink = () => {};
