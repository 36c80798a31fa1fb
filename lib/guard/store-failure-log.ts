import { Injectable, Logger } from '@nestjs/common';
import { LogThrottle } from '../core/log-throttle.js';
import { SessionMessages } from '../core/session.messages.js';

/**
 * How often a store outage is summarised in the log (ms). Per-request counts belong in
 * metrics; the log says that it started, how it goes and that it ended.
 */
export const STORE_FAILURE_LOG_INTERVAL = 10_000;

/**
 * The log of store failures seen by the guard and the handshake endpoint, shared by both: the
 * first failure is logged when it happens, then at most one summary per 10 s ("N requests
 * refused in the last 10 s: ..."), then one line when the store answers again. A store outage
 * under any request rate writes a bounded number of lines.
 *
 * @example
 * ```ts
 * storeFailures.failed(error); // on each refused request
 * storeFailures.answered(); // on each store answer (cheap when nothing failed)
 * ```
 */
@Injectable()
export class StoreFailureLog {
  private readonly throttle = new LogThrottle(
    new Logger('MeshSession'),
    STORE_FAILURE_LOG_INTERVAL,
    {
      first: SessionMessages.storeFailed,
      summary: SessionMessages.storeFailureSummary,
      end: SessionMessages.storeRecovered,
    },
  );

  /**
   * A request was refused because the store failed or timed out.
   *
   * @param cause what the store call threw
   */
  failed(cause: unknown): void {
    this.throttle.record(cause instanceof Error ? cause.message : String(cause));
  }

  /** The store answered: ends an ongoing outage in the log. */
  answered(): void {
    if (this.throttle.active) this.throttle.resolve();
  }
}
