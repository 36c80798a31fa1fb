/**
 * A session between this service and a remote service.
 *
 * Sessions handed out by the library never reveal `sessionKey` when serialised:
 * `JSON.stringify(session)` and `util.inspect(session)` omit it.
 */
export interface Session {
  /** Unique session id (UUID v4). */
  readonly id: string;
  /** Remote service identifier. */
  readonly serviceId: string;
  /** Shared AES-256 key (32 bytes). */
  readonly sessionKey: Buffer;
  /** Creation timestamp (ms since the epoch). */
  readonly createdAt: number;
  /** Last activity timestamp (ms since the epoch). */
  readonly lastActivity: number;
  /** Expiration timestamp (ms since the epoch). */
  readonly expiresAt: number;
  /** Custom metadata: a plain JSON-serialisable object. */
  readonly metadata?: Record<string, unknown>;
}

/**
 * Counters returned by `SessionManager.getStats()`. Counters count since the manager started.
 */
export interface SessionStats {
  /**
   * Live sessions in the store (`expiresAt` not reached). Sessions that expired and that
   * cleanup has not removed yet are not counted.
   */
  activeSessions: number;
  /** Sessions created. */
  created: number;
  /** Sessions removed because they expired (on access or by cleanup). */
  expired: number;
  /** Sessions removed by `invalidateSession`, `invalidateSessionsByServiceId` or revocation. */
  invalidated: number;
  /** Requests rejected by the guard. */
  rejected: number;
}
