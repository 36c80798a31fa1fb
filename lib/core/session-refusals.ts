import type { SessionEvents } from './session-events.js';
import { isSessionId } from './session-id.js';
import type { Session } from './session.interface.js';
import { SessionMessages } from './session.messages.js';
import type { SessionStore } from './session-store.js';
import { NOOP_SESSION_TELEMETRY, type SessionTelemetry } from './session-telemetry.js';
import { SessionValidationError, type SessionRejectionReason } from './session-validation.error.js';

/**
 * How {@link SessionChecks} refuses a request's session, and what a refusal leaves behind: each
 * refusal is counted and audited through {@link SessionEvents}, an expired session is dropped,
 * and a revoked one is removed on sight. `SessionManager` ends sessions on purpose through the
 * same {@link SessionRefusals.remove}, so that every removal is counted and audited alike.
 *
 * @example
 * ```ts
 * const refusals = new SessionRefusals(store, events, telemetry);
 * refusals.checkId(idFromHeader); // a missing or malformed id: a counted SessionValidationError
 * const session = refusals.unlessExpired(await store.touch(id, now, idle, max), now);
 * ```
 */
export class SessionRefusals {
  /**
   * @param store where sessions live
   * @param events counts and audits what happens
   * @param telemetry times the store calls
   */
  constructor(
    private readonly store: SessionStore,
    private readonly events: SessionEvents,
    private readonly telemetry: SessionTelemetry = NOOP_SESSION_TELEMETRY,
  ) {}

  /**
   * Refuses a missing id, or one that is not a UUID, before any store call.
   *
   * @param id the session id from the request
   * @throws {SessionValidationError} 'missing' or 'invalid'
   */
  checkId(id: string | undefined): asserts id is string {
    if (id === undefined || id === '') {
      throw this.reject('missing', SessionMessages.missingSessionId());
    }
    if (!isSessionId(id)) throw this.reject('invalid', SessionMessages.invalidSessionId());
  }

  /**
   * A claim's session, refused ('not_found') when it ended since it was read.
   *
   * @param session what the claim answered
   * @param now the request's time (ms)
   * @returns `session`
   * @throws {SessionValidationError} 'not_found'
   */
  unlessEnded(session: Session | undefined, now: number): Session | undefined {
    if (session !== undefined && this.unlessExpired(session, now) === undefined) {
      throw this.reject('not_found', SessionMessages.sessionNotFound());
    }
    return session;
  }

  /**
   * Refuses a missing session ('not_found') or a revoked one ('revoked', invalidated).
   *
   * @param session the session read
   * @returns the session, when it is neither missing nor revoked
   * @throws {SessionValidationError} 'not_found' or 'revoked'
   */
  async refuseRevoked(session: Session | undefined): Promise<Session> {
    const found = this.refuseMissing(session);
    if (found.metadata?.revoked === true) {
      await this.remove(found.id, 'session_revoked');
      throw this.reject('revoked', SessionMessages.sessionRevoked(), found.serviceId);
    }
    return found;
  }

  /**
   * `refuseRevoked` for a store in this process: its removal has happened by the time the
   * store's Promise is made, so the refusal needs not wait for it. A failed removal is counted
   * by the telemetry, and the session, still revoked, is refused again on its next request.
   *
   * @param session the session read
   * @returns the session, when it is neither missing nor revoked
   * @throws {SessionValidationError} 'not_found' or 'revoked'
   */
  refuseRevokedNow(session: Session | undefined): Session {
    const found = this.refuseMissing(session);
    if (found.metadata?.revoked === true) {
      this.remove(found.id, 'session_revoked').catch(() => undefined);
      throw this.reject('revoked', SessionMessages.sessionRevoked(), found.serviceId);
    }
    return found;
  }

  private refuseMissing(session: Session | undefined): Session {
    if (session === undefined) throw this.reject('not_found', SessionMessages.sessionNotFound());
    return session;
  }

  /**
   * A refusal, counted and audited.
   *
   * @param reason machine-readable reason
   * @param message caller-facing text, from `SessionMessages`
   * @param serviceId the remote service, when known
   * @returns the error to throw
   */
  reject(
    reason: SessionRejectionReason,
    message: string,
    serviceId?: string,
  ): SessionValidationError {
    this.events.requestRejected('error', reason, serviceId);
    return new SessionValidationError(reason, message);
  }

  /**
   * Removes a session on purpose, counted and audited.
   *
   * @param id session id
   * @param action the audit action
   * @returns whether a session was removed
   */
  async remove(id: string, action: 'session_invalidated' | 'session_revoked'): Promise<boolean> {
    if (!isSessionId(id)) return false;
    const t = this.telemetry;
    const removed = await t.endStoreCall(
      'delete',
      t.startStoreCall('delete'),
      this.store.delete(id),
    );
    if (removed === undefined) return false;
    this.events.sessionRemoved(removed.serviceId, action, id);
    return true;
  }

  /**
   * What `touch` answered, with an expired session counted, audited and dropped.
   *
   * @param session what the store answered
   * @param now the current time (ms)
   * @returns the session, or `undefined` when there is none or it has expired
   */
  unlessExpired(session: Session | undefined, now: number): Session | undefined {
    if (session === undefined) return undefined;
    if (session.expiresAt <= now) {
      this.events.sessionExpired(session.serviceId, session.id);
      return undefined;
    }
    return session;
  }
}
