/**
 * A one-shot timer for line-rate pacing that does not round short waits up to a millisecond.
 *
 * Node's setTimeout works on whole milliseconds of loop time: a 0.05 ms wait (a `>` prompt at
 * 921600 baud) or a 0.4 ms one (a 36-byte command) takes 1–1.2 ms. Paid three or four times per
 * command, that added ~4 ms to every 56 ms write cycle at 921600 baud, time no real UART spends.
 * Waits of a millisecond or more use setTimeout (accurate to a few tenths of a millisecond, and the
 * receiver already allows 1 ms of slack); shorter ones poll with setImmediate until the due time,
 * which costs at most that fraction of a millisecond of CPU and lets other I/O run in between.
 */

/** Below this, setTimeout would overshoot by more than the wait itself. */
const SHORT_WAIT_MS = 1;

export class WireTimer {
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;

  get active(): boolean {
    return this.timer !== undefined || this.immediate !== undefined;
  }

  /** Run `fn` once `performance.now()` reaches `due` (at once, asynchronously, if it has). Replaces a pending run. */
  at(due: number, fn: () => void): void {
    this.cancel();
    const wait = due - performance.now();
    if (wait >= SHORT_WAIT_MS) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        fn();
      }, wait);
      return;
    }
    const poll = (): void => {
      if (performance.now() < due) {
        this.immediate = setImmediate(poll);
        return;
      }
      this.immediate = undefined;
      fn();
    };
    this.immediate = setImmediate(poll);
  }

  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
  }
}
