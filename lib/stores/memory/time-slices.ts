import { performance } from 'node:perf_hooks';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';

/** How long a walk may hold the event loop before it yields (ms). */
const SLICE_BUDGET_MS = 3;
/** How many entries a walk handles between two clock reads. */
const SLICE_CHECK_EVERY = 128;

/**
 * The slices of a walk over many entries: a sweep and a count both work a few milliseconds at a
 * time and yield to the event loop between slices, so that neither blocks it however many
 * entries have come due. Each entry's work must be small and bounded (no step that copies or
 * grows a structure as large as the store), or a slice would overrun its budget.
 *
 * @example
 * ```ts
 * const slices = new TimeSlices();
 * for (const entry of entries) {
 *   handle(entry);
 *   if (slices.spent()) await slices.yield();
 * }
 * ```
 */
export class TimeSlices {
  /** Entries left before the next clock read. */
  private untilCheck = SLICE_CHECK_EVERY;
  private started = performance.now();

  /**
   * Counts entries handled; whether the running slice has used its budget (the clock is read
   * once per 128 entries).
   *
   * @param count how many entries were handled since the last call
   * @default count 1
   */
  spent(count = 1): boolean {
    // A countdown, not a running total divided: nothing on a walk's path makes a new number.
    this.untilCheck -= count;
    if (this.untilCheck > 0) return false;
    this.untilCheck = SLICE_CHECK_EVERY;
    return performance.now() - this.started > SLICE_BUDGET_MS;
  }

  /** Yields to the event loop, then starts a new slice. */
  async yield(): Promise<void> {
    await yieldToEventLoop();
    this.started = performance.now();
  }
}
