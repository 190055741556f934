/**
 * Hook for fault injection (dropped/corrupted bytes, silence, spontaneous resets). Only the seam
 * lives here; concrete faults are added separately. Install one with
 * `emulator.setFaultInjector(injector)`; resets and unplugs are driven through the emulator's
 * public `reset()` / `unplug()`.
 */

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
  /** Told about each command line before it runs (e.g. to schedule a reset mid-command). */
  onCommand?(line: string): void;
}
