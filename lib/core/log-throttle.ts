/** What a {@link LogThrottle} writes through: Nest's `Logger` and `console` fit. */
export interface ThrottledLogger {
  warn(message: string): unknown;
  log(message: string): unknown;
}

/** The lines a {@link LogThrottle} writes. */
export interface LogThrottleMessages {
  /** The first occurrence, in full. */
  first(detail: string): string;
  /** At most once per interval while it goes on: how many more, and the last detail. */
  summary(count: number, seconds: number, detail: string): string;
  /** Once when it is over, with how many occurred in all; `undefined` for none. */
  end?(total: number): string;
}

/**
 * Keeps a warning that can happen on every request readable in an incident: the first
 * occurrence is logged at once, the ones that follow are counted and summarised at most once
 * per interval, and, when the caller says the incident is over, one line says so. However many
 * requests fail, an incident of `d` seconds writes at most `2 + d / interval` lines.
 *
 * The summary of the last interval is written by an unref'd timer, so a burst that simply
 * stops is still reported, and nothing keeps the process alive.
 *
 * @example
 * ```ts
 * const storeFailures = new LogThrottle(logger, 10_000, {
 *   first: (reason) => `Session store failed: ${reason}`,
 *   summary: (n, s, reason) => `${n} requests refused in the last ${s} s: ${reason}`,
 *   end: (total) => `Session store answers again (${total} requests refused)`,
 * });
 * storeFailures.record(error.message); // on each failure
 * if (storeFailures.active) storeFailures.resolve(); // on the next success
 * ```
 */
export class LogThrottle {
  /** Whether an incident is going on: read it before calling `resolve()` on a hot path. */
  active = false;
  private pending = 0;
  private total = 0;
  private lastDetail = '';
  private timer: ReturnType<typeof setTimeout> | undefined;

  /**
   * @param logger where the lines go
   * @param intervalMs the shortest time between two summaries (ms)
   * @param messages the three lines
   */
  constructor(
    private readonly logger: ThrottledLogger,
    private readonly intervalMs: number,
    private readonly messages: LogThrottleMessages,
  ) {}

  /**
   * One occurrence.
   *
   * @param detail what happened this time, such as the error's message
   */
  record(detail: string): void {
    this.total++;
    this.lastDetail = detail;
    if (!this.active) {
      this.active = true;
      this.logger.warn(this.messages.first(detail));
    } else {
      this.pending++;
    }
    if (this.timer === undefined) this.startInterval();
  }

  /** The incident is over: writes what is still pending, then the end line. */
  resolve(): void {
    if (!this.active) return;
    this.flush();
    clearTimeout(this.timer);
    this.timer = undefined;
    this.active = false;
    const end = this.messages.end?.(this.total);
    this.total = 0;
    if (end !== undefined) this.logger.log(end);
  }

  private startInterval(): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.pending === 0) {
        // A quiet interval ends a burst of plain warnings; an incident with an end line lasts
        // until `resolve()`, and its next occurrence starts the timer again.
        if (this.messages.end === undefined) this.active = false;
        return;
      }
      this.flush();
      this.startInterval();
    }, this.intervalMs);
    this.timer.unref?.();
  }

  private flush(): void {
    if (this.pending === 0) return;
    this.logger.warn(
      this.messages.summary(this.pending, Math.round(this.intervalMs / 1000), this.lastDetail),
    );
    this.pending = 0;
  }
}
