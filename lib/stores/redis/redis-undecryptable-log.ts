import type { SessionStoreLogger } from '../../core/session-store-logger.js';
import { RedisStoreMessages } from './redis-store.messages.js';

/** Gap between two "cannot decrypt" log lines (ms). */
const UNDECRYPTABLE_LOG_EVERY_MS = 10_000;

/**
 * Reports stored sessions the store cannot decrypt (their key was rotated out, or the value was
 * altered): at most one line every 10 s, counting the sessions since the last line, so that a
 * forgotten key does not flood the log with one line per request.
 *
 * @example
 * ```ts
 * const undecryptable = new RedisUndecryptableLog(() => logger);
 * undecryptable.report(error); // logs now, or counts it for the next line
 * ```
 */
export class RedisUndecryptableLog {
  private count = 0;
  private loggedAt = -Infinity;

  /** @param logger where to log, read at each line */
  constructor(private readonly logger: () => SessionStoreLogger) {}

  /**
   * Counts one session that could not be decrypted, and logs when the last line is old enough.
   *
   * @param error why it could not be decrypted; its message never holds key material
   */
  report(error: unknown): void {
    this.count++;
    const at = performance.now();
    if (at - this.loggedAt < UNDECRYPTABLE_LOG_EVERY_MS) return;
    this.loggedAt = at;
    this.logger().warn(
      RedisStoreMessages.sessionUndecryptable(
        error instanceof Error ? error.message : String(error),
        this.count,
      ),
    );
    this.count = 0;
  }
}
