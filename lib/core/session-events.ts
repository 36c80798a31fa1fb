import { sessionRef, type AuditSink } from './audit-sink.js';
import type { MeshAuditEventType } from './mesh-audit-event.interface.js';
import type { SessionStats } from './session.interface.js';
import { NOOP_SESSION_TELEMETRY, type SessionTelemetry } from './session-telemetry.js';

/**
 * What happens to sessions, counted, sent to the audit sink and reported to the telemetry:
 * `SessionManager` reports here, and `getStats()` reads the counts back. An event names a
 * session only by `sessionRef` (a hash of its id), never by the id; the telemetry gets counts
 * only.
 *
 * @example
 * ```ts
 * const events = new SessionEvents(auditSink);
 * events.sessionCreated('billing', session.id);
 * events.stats(await store.count()); // { activeSessions, created: 1, ... }
 * ```
 */
export class SessionEvents {
  private created = 0;
  private expired = 0;
  private invalidated = 0;
  private rejected = 0;

  /**
   * @param audit where the events go
   * @param telemetry where the counts go, as metrics
   */
  constructor(
    private readonly audit: AuditSink,
    private readonly telemetry: SessionTelemetry = NOOP_SESSION_TELEMETRY,
  ) {}

  /**
   * A session was created.
   *
   * @param serviceId its remote service
   * @param id its id
   */
  sessionCreated(serviceId: string, id: string): void {
    this.created++;
    this.telemetry.sessionCreated();
    this.emit(serviceId, 'session_created', id);
  }

  /**
   * A session was found expired on access, and removed.
   *
   * @param serviceId its remote service
   * @param id its id
   */
  sessionExpired(serviceId: string, id: string): void {
    this.expired++;
    this.telemetry.sessionsExpired(1);
    this.emit(serviceId, 'session_expired', id);
  }

  /**
   * Cleanup removed expired sessions.
   *
   * @param count how many
   */
  sessionsExpired(count: number): void {
    if (count === 0) return;
    this.expired += count;
    this.telemetry.sessionsExpired(count);
    this.emit(undefined, 'sessions_expired', undefined, { count });
  }

  /**
   * A session was ended on purpose.
   *
   * @param serviceId its remote service
   * @param action `'session_invalidated'` or `'session_revoked'`
   * @param id its id
   */
  sessionRemoved(
    serviceId: string,
    action: 'session_invalidated' | 'session_revoked',
    id: string,
  ): void {
    this.invalidated++;
    this.telemetry.sessionsInvalidated(1, action === 'session_revoked' ? 'revoked' : 'invalidated');
    this.emit(serviceId, action, id);
  }

  /**
   * Every session of a service was ended.
   *
   * @param serviceId the service
   * @param count how many sessions
   */
  serviceInvalidated(serviceId: string, count: number): void {
    if (count === 0) return;
    this.invalidated += count;
    this.telemetry.sessionsInvalidated(count, 'service');
    this.emit(serviceId, 'service_sessions_invalidated', undefined, { count });
  }

  /**
   * A request was refused.
   *
   * @param eventType `'rate_limit'` or `'error'`
   * @param reason short reason for the audit event
   * @param serviceId the remote service, when known
   */
  requestRejected(eventType: MeshAuditEventType, reason: string, serviceId?: string): void {
    this.rejected++;
    if (!this.audit.enabled) return;
    this.audit.emit(eventType, serviceId, {
      action: 'request_rejected',
      success: false,
      error: reason,
    });
  }

  /**
   * The counters since start, with the store's count.
   *
   * @param activeSessions the store's live sessions
   * @returns the stats
   */
  stats(activeSessions: number): SessionStats {
    return {
      activeSessions,
      created: this.created,
      expired: this.expired,
      invalidated: this.invalidated,
      rejected: this.rejected,
    };
  }

  private emit(
    serviceId: string | undefined,
    action: string,
    sessionId?: string,
    extra?: Record<string, unknown>,
  ): void {
    if (!this.audit.enabled) return;
    const metadata =
      sessionId === undefined ? extra : { sessionRef: sessionRef(sessionId), ...extra };
    this.audit.emit('connection', serviceId, { action, success: true, metadata });
  }
}
