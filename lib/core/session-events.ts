import { sessionRef, type AuditSink } from './audit-sink.js';
import type { MeshAuditEventType } from './mesh-audit-event.interface.js';
import type { SessionStats } from './session.interface.js';

/**
 * What happens to sessions, counted and sent to the audit sink: `SessionManager` reports here,
 * and `getStats()` reads the counts back. An event names a session only by `sessionRef` (a hash
 * of its id), never by the id.
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

  /** @param audit where the events go */
  constructor(private readonly audit: AuditSink) {}

  /**
   * A session was created.
   *
   * @param serviceId its remote service
   * @param id its id
   */
  sessionCreated(serviceId: string, id: string): void {
    this.created++;
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
    this.emit(undefined, 'sessions_expired', undefined, { count });
  }

  /**
   * A session was ended on purpose.
   *
   * @param serviceId its remote service
   * @param action `'session_invalidated'` or `'session_revoked'`
   * @param id its id
   */
  sessionRemoved(serviceId: string, action: string, id: string): void {
    this.invalidated++;
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
   * @param activeSessions what the store holds
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
