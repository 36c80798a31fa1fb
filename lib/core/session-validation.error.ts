/**
 * Why a session was refused by {@link SessionManager.validateSession}.
 */
export type SessionRejectionReason = 'missing' | 'invalid' | 'not_found' | 'revoked';

/**
 * Thrown by `SessionManager.validateSession()` when a request's session is refused. The guard
 * turns it into a 401; its message is the text sent to the caller.
 *
 * @example
 * ```ts
 * try { await manager.validateSession(id); } catch (e) {
 *   if (e instanceof SessionValidationError && e.reason === 'revoked') ...
 * }
 * ```
 */
export class SessionValidationError extends Error {
  /**
   * @param reason machine-readable reason
   * @param message caller-facing text, from `SessionMessages`
   */
  constructor(
    readonly reason: SessionRejectionReason,
    message: string,
  ) {
    super(message);
    this.name = 'SessionValidationError';
  }
}
