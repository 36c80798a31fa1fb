/**
 * Kinds of audit event.
 */
export type MeshAuditEventType =
  'connection' | 'message' | 'key_rotation' | 'rate_limit' | 'circuit_breaker' | 'error';

/**
 * An audit event. Events never carry a session key, and refer to a
 * session through `details.metadata.sessionRef` (a hash of its id), never the id itself.
 *
 * @example
 * ```ts
 * { eventType: 'connection', serviceId: 'billing', targetServiceId: 'orders',
 *   details: { action: 'session_created', success: true } }
 * ```
 */
export interface MeshAuditEvent {
  /** Unique event id (UUID). */
  id: string;
  /** When it happened. */
  timestamp: Date;
  /** What kind of event it is. */
  eventType: MeshAuditEventType;
  /** The remote service the event concerns, or `'unknown'` when the caller is not known. */
  serviceId: string;
  /** This service (the module's `serviceId` option), when configured. */
  targetServiceId?: string;
  /** What happened. */
  details: {
    /** For example `session_created`, `session_invalidated`, `session_expired`. */
    action?: string;
    /** Whether the action succeeded. */
    success: boolean;
    /** Duration of the action (ms). */
    duration?: number;
    /** Number of messages concerned. */
    messageCount?: number;
    /** A short reason, for failures. */
    error?: string;
    /** Anything else; never secrets. */
    metadata?: Record<string, unknown>;
  };
}
