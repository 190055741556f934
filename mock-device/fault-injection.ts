/**
 * Hook for fault injection (dropped/corrupted bytes, busy/ERROR/silent answers, resets mid-command,
 * disconnects, power loss during an erase). Install one with `emulator.setFaultInjector(injector)`;
 * the seeded, configurable one is `RandomFaults` (`mock-device/faults/`, also built from the
 * emulator's `faults` option and the `faults=` URL option). Resets and unplugs from outside are
 * driven through the emulator's public `reset()` / `unplug()`.
 */
import type { FlashCut, FlashOperation } from './nor-flash.js';

/**
 * What the module does with a command line instead of simply running it:
 * - `busy`: not run; answered `busy p...` (with SYSLOG `ERR CODE:0x010b0000` first);
 * - `error`: not run; answered `ERROR`;
 * - `silent`: not run; no answer at all (the receiver is back in command mode);
 * - `disconnect`: the module is unplugged (attached transports close);
 * - `reset`: the module resets while running the command (see ResetFault).
 */
export type CommandFault = { kind: 'busy' } | { kind: 'error' } | { kind: 'silent' } | { kind: 'disconnect' } | ResetFault;

/**
 * A reset in the middle of a command: `ready` follows, echo/SYSLOG/data mode are forgotten, pending
 * output is lost, flash keeps whatever the cut left. Where it strikes:
 * - `afterDataBytes(length)`: during the raw data phase, once more than this many of the `length`
 *   payload bytes have arrived (nothing of the payload is programmed: the firmware buffers it);
 * - `flashCut(...)`: during the command's flash erase/program, which stops part-way (NorFlash);
 * - otherwise, or if the command never gets that far: after the command's work, before its answer.
 */
export interface ResetFault {
  kind: 'reset';
  afterDataBytes?(length: number): number | undefined;
  flashCut?(operation: FlashOperation, address: number, length: number): FlashCut | undefined;
}

export interface FaultInjector {
  /**
   * Sees every chunk the host sent, before the module's receiver does (after line timing).
   * Return the bytes to deliver (possibly altered), or null to lose the chunk.
   */
  filterInput?(chunk: Buffer): Buffer | null;
  /**
   * Sees every chunk as it leaves the module's UART. Return the bytes the host gets, or null to
   * lose them.
   */
  filterOutput?(chunk: Buffer): Buffer | null;
  /**
   * Told about each command line before it runs (after its echo). Return a CommandFault to make
   * the module misbehave on it, or nothing to run it normally.
   */
  onCommand?(line: string): CommandFault | void;
}
