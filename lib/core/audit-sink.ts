import { createHash } from 'node:crypto';
import type { MeshAuditEvent, MeshAuditEventType } from './mesh-audit-event.interface.js';

/**
 * Where `SessionManager` sends its audit events. `MeshAuditEmitter` is the implementation the
 * module provides; the sink never blocks the caller, and an event never carries a secret.
 *
 * @example
 * ```ts
 * const sink: AuditSink = {
 *   enabled: true,
 *   emit: (type, serviceId, details) => console.log(type, serviceId, details.action),
 * };
 * new SessionManager(store, { sessionTimeout: 60_000 }, sink);
 * ```
 */
export interface AuditSink {
  /** Whether anything listens; lets callers skip building events. */
  readonly enabled: boolean;
  /**
   * Sends an event without waiting for its listeners.
   *
   * @param eventType kind of event
   * @param serviceId the remote service concerned, or `undefined` when unknown
   * @param details what happened; must hold no secret
   */
  emit(
    eventType: MeshAuditEventType,
    serviceId: string | undefined,
    details: MeshAuditEvent['details'],
  ): void;
}

/** The sink of a manager built without one: events go nowhere. */
export const NO_AUDIT: AuditSink = Object.freeze({ enabled: false, emit: () => undefined });

/**
 * A stable, non-reversible reference to a session for audit events and logs. In session-id
 * mode the id is a bearer credential, so it is never written out as is.
 *
 * @param sessionId the session id
 * @returns the first 16 hex characters of its SHA-256
 * @example
 * ```ts
 * sessionRef('0b7e...'); // 'a3f19c...' (16 hex characters)
 * ```
 */
export function sessionRef(sessionId: string): string {
  return createHash('sha256').update(sessionId).digest('hex').slice(0, 16);
}
