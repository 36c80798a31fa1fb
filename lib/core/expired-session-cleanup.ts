import type { SessionEvents } from './session-events.js';
import type { SessionStore } from './session-store.js';
import { NOOP_SESSION_TELEMETRY, type SessionTelemetry } from './session-telemetry.js';

/**
 * `SessionManager.cleanupExpiredSessions`: removes expired sessions from the store, one run at a
 * time. A call made while a run is under way gets that run's Promise instead of starting a second
 * sweep of the same sessions. Each run is timed (and, when tracing, recorded as a span) by the
 * telemetry, and what it removed is counted and audited through {@link SessionEvents}.
 *
 * @example
 * ```ts
 * const cleanup = new ExpiredSessionCleanup(store, events, telemetry);
 * const [a, b] = [cleanup.run(), cleanup.run()]; // one run: a === b
 * ```
 */
export class ExpiredSessionCleanup {
  private running: Promise<number> | undefined;

  /**
   * @param store where sessions live
   * @param events counts and audits what happens
   * @param telemetry times the run and its store call
   */
  constructor(
    private readonly store: SessionStore,
    private readonly events: SessionEvents,
    private readonly telemetry: SessionTelemetry = NOOP_SESSION_TELEMETRY,
  ) {}

  /**
   * Removes expired sessions, or joins the run under way.
   *
   * @returns how many sessions were removed
   * @throws whatever the store throws when it fails (the next call starts a new run)
   */
  run(): Promise<number> {
    this.running ??= this.telemetry
      .cleanup(() => this.deleteExpired())
      .then(
        (count) => {
          this.running = undefined;
          this.events.sessionsExpired(count);
          return count;
        },
        (error: unknown) => {
          this.running = undefined;
          throw error;
        },
      );
    return this.running;
  }

  private deleteExpired(): Promise<number> {
    const t = this.telemetry;
    return t.endStoreCall(
      'delete_expired',
      t.startStoreCall('delete_expired'),
      this.store.deleteExpired(Date.now()),
    );
  }
}
