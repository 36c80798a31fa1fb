import type { ResolvedSessionPolicy } from './session-policy.js';
import { isSessionId } from './session-id.js';
import type { SessionRefusals } from './session-refusals.js';
import type { Session } from './session.interface.js';
import { SessionMessages } from './session.messages.js';
import type { SessionStore } from './session-store.js';
import {
  NOOP_SESSION_TELEMETRY,
  type SessionTelemetry,
  type StoreOperation,
} from './session-telemetry.js';

/**
 * The checks a guarded request runs against the store, for `SessionManager`: in session-id mode
 * one atomic get-and-touch, in signature mode a read before the signature is verified and a
 * nonce claim with the slide after it. Every refusal is counted and audited through
 * {@link SessionRefusals}; a revoked session is removed on sight. Each store call is reported to
 * the telemetry (its duration, and its error when it fails).
 *
 * @example
 * ```ts
 * const checks = new SessionChecks(store, policy, new SessionRefusals(store, events));
 * const session = await checks.validateSession(idFromHeader);
 * ```
 */
export class SessionChecks {
  /**
   * @param store where sessions live
   * @param policy idle timeout and absolute lifetime
   * @param refusals refuses, counts and audits
   * @param telemetry times the store calls
   */
  constructor(
    private readonly store: SessionStore,
    private readonly policy: ResolvedSessionPolicy,
    private readonly refusals: SessionRefusals,
    private readonly telemetry: SessionTelemetry = NOOP_SESSION_TELEMETRY,
  ) {}

  /**
   * The check the guard runs on every request: the id must be a UUID, the session live and not
   * revoked. A revoked session is invalidated. Every refusal is counted and audited.
   *
   * @param id the session id from the request
   * @returns the session, slid as by `getSession`
   * @throws {SessionValidationError} with the reason and the caller-facing message
   * @throws whatever the store throws when it fails
   */
  async validateSession(id: string | undefined): Promise<Session> {
    this.refusals.checkId(id);
    // The slide inline rather than through `slide`: one Promise less on every guarded request.
    const now = Date.now();
    // Reported around the await, not through endStoreCall: no promise added to the request.
    const t = this.telemetry;
    const mark = t.startStoreCall('touch');
    let touched: Session | undefined;
    try {
      touched = await this.store.touch(
        id,
        now,
        this.policy.sessionTimeout,
        this.policy.maxSessionLifetime,
      );
    } catch (error) {
      t.storeCallFailed('touch', mark, error);
      throw error;
    }
    t.storeCallSucceeded('touch', mark);
    const session = this.refusals.unlessExpired(touched, now);
    if (session === undefined) {
      throw this.refusals.reject('not_found', SessionMessages.sessionNotFound());
    }
    if (session.metadata?.revoked === true) {
      await this.refusals.remove(id, 'session_revoked');
      throw this.refusals.reject('revoked', SessionMessages.sessionRevoked(), session.serviceId);
    }
    return session;
  }

  /**
   * `validateSession` without a Promise, for a store that answers in this process
   * (`SessionStore.touchNow`, as the memory store does): the same checks, slide, counts and
   * audit, so that the guard checks such a request with no Promise at all.
   *
   * @param id the session id from the request
   * @returns the session, slid; `undefined` when the store cannot answer without a Promise
   * @throws {SessionValidationError} as `validateSession` does
   * @throws whatever the store throws when it fails
   */
  validateSessionNow(id: string | undefined): Session | undefined {
    if (this.store.touchNow === undefined) return undefined;
    this.refusals.checkId(id);
    const session = this.slideNow(id, Date.now());
    if (session === undefined) {
      throw this.refusals.reject('not_found', SessionMessages.sessionNotFound());
    }
    if (session.metadata?.revoked === true) {
      // A store in this process removes the session before its Promise settles, so it is gone
      // before the refusal is answered, as with validateSession. A failed removal is counted by
      // the telemetry, and the session, still revoked, is refused again on its next request.
      this.refusals.remove(id, 'session_revoked').catch(() => undefined);
      throw this.refusals.reject('revoked', SessionMessages.sessionRevoked(), session.serviceId);
    }
    return session;
  }

  /**
   * The slide `getSession` and `validateSessionNow` share, on a store that answers in this
   * process: the store's `touchNow`, reported as a store call, with an expired session counted.
   * Call it only when the store has `touchNow`.
   *
   * @param id a session id, already checked to be a UUID
   * @param now the current time (ms)
   * @returns the live session, slid; `undefined` when it is unknown or has expired
   * @throws whatever the store throws when it fails
   */
  slideNow(id: string, now: number): Session | undefined {
    const { store, policy } = this;
    const touched = this.reportedNow('touch', () =>
      store.touchNow?.(id, now, policy.sessionTimeout, policy.maxSessionLifetime),
    );
    return this.refusals.unlessExpired(touched, now);
  }

  /**
   * `getSession` once the id is known to be well-formed.
   *
   * @param id a session id, already checked to be a UUID
   * @returns the live session, slid; `undefined` when it is unknown or has expired
   * @throws whatever the store throws when it fails
   */
  async slide(id: string): Promise<Session | undefined> {
    const now = Date.now();
    const t = this.telemetry;
    return this.refusals.unlessExpired(
      await t.endStoreCall(
        'touch',
        t.startStoreCall('touch'),
        this.store.touch(id, now, this.policy.sessionTimeout, this.policy.maxSessionLifetime),
      ),
      now,
    );
  }

  /**
   * A store call answered in this process, reported to the telemetry as an awaited one is: its
   * duration, and its error when it throws.
   */
  private reportedNow<T>(operation: StoreOperation, call: () => T): T {
    const t = this.telemetry;
    const mark = t.startStoreCall(operation);
    let result: T;
    try {
      result = call();
    } catch (error) {
      t.storeCallFailed(operation, mark, error);
      throw error;
    }
    t.storeCallSucceeded(operation, mark);
    return result;
  }

  /**
   * Signature mode's read, before the signature is checked: the live session, read without
   * sliding it and without writing anything to the store, so that a request signed without
   * the key costs no store write. A revoked session is invalidated. Refusals are counted and
   * audited as by `validateSession`. Once the signature verifies, `claimNonceAndTouch` claims
   * the request's nonce and slides the session.
   *
   * @param id the signature's `keyid`
   * @param now the request's time (ms)
   * @returns the session, not slid
   * @throws {SessionValidationError} 'invalid', 'not_found' or 'revoked'
   * @throws whatever the store throws when it fails
   */
  async readSession(id: string, now: number = Date.now()): Promise<Session> {
    if (!isSessionId(id)) {
      throw this.refusals.reject('invalid', SessionMessages.invalidSessionId());
    }
    const t = this.telemetry;
    const mark = t.startStoreCall('get');
    let session: Session | undefined;
    try {
      session = await this.store.get(id, now);
    } catch (error) {
      t.storeCallFailed('get', mark, error);
      throw error;
    }
    t.storeCallSucceeded('get', mark);
    return this.refusals.refuseRevoked(session);
  }

  /**
   * `readSession` without a Promise, for a store that answers in this process
   * (`SessionStore.getNow` and `claimNonceAndTouchNow`, as the memory store has): the same
   * checks, counts and audit.
   *
   * @param id the signature's `keyid`
   * @param now the request's time (ms)
   * @returns the session, not slid; `undefined` when the store cannot answer without a Promise
   * @throws {SessionValidationError} as `readSession` does
   * @throws whatever the store throws when it fails
   */
  readSessionNow(id: string, now: number = Date.now()): Session | undefined {
    const store = this.store;
    if (store.getNow === undefined || store.claimNonceAndTouchNow === undefined) return undefined;
    if (!isSessionId(id)) {
      throw this.refusals.reject('invalid', SessionMessages.invalidSessionId());
    }
    return this.refusals.refuseRevokedNow(this.reportedNow('get', () => store.getNow?.(id, now)));
  }

  /**
   * Signature mode's write, once the request's signature has verified: claims its nonce in the
   * session's scope and, when the nonce is fresh, slides the session, in one store call
   * (`SessionStore.claimNonceAndTouch`). A session that ended or was revoked since
   * `readSession` is refused, counted and audited.
   *
   * @param id the session id (the signature's `keyid`)
   * @param nonce the request's nonce
   * @param ttl how long the nonce stays claimed (ms)
   * @param now the request's time (ms)
   * @returns `nonceFresh: false` for a nonce already used (nothing slid), or the slid session
   * @throws {SessionValidationError} 'not_found' or 'revoked'
   * @throws whatever the store throws when it fails
   */
  async claimNonceAndTouch(
    id: string,
    nonce: string,
    ttl: number,
    now: number = Date.now(),
  ): Promise<{ session: Session; nonceFresh: true } | { session: undefined; nonceFresh: false }> {
    const t = this.telemetry;
    const mark = t.startStoreCall('claim_nonce_and_touch');
    let claimed: Awaited<ReturnType<SessionStore['claimNonceAndTouch']>>;
    try {
      claimed = await this.store.claimNonceAndTouch(
        id,
        nonce,
        ttl,
        now,
        this.policy.sessionTimeout,
        this.policy.maxSessionLifetime,
      );
    } catch (error) {
      t.storeCallFailed('claim_nonce_and_touch', mark, error);
      throw error;
    }
    t.storeCallSucceeded('claim_nonce_and_touch', mark);
    const { session, nonceFresh } = claimed;
    if (!nonceFresh) return { session: undefined, nonceFresh };
    const refusals = this.refusals;
    return {
      session: await refusals.refuseRevoked(refusals.unlessEnded(session, now)),
      nonceFresh,
    };
  }

  /**
   * `claimNonceAndTouch` without a Promise, once `readSessionNow` has answered (the store has
   * `claimNonceAndTouchNow`): the same refusals, counts and audit.
   *
   * @param id the session id (the signature's `keyid`)
   * @param nonce the request's nonce
   * @param ttl how long the nonce stays claimed (ms)
   * @param now the request's time (ms)
   * @returns as `claimNonceAndTouch` resolves
   * @throws {SessionValidationError} 'not_found' or 'revoked'
   * @throws {TypeError} when the store has no `claimNonceAndTouchNow`
   * @throws whatever the store throws when it fails
   */
  claimNonceAndTouchNow(
    id: string,
    nonce: string,
    ttl: number,
    now: number = Date.now(),
  ): { session: Session; nonceFresh: true } | { session: undefined; nonceFresh: false } {
    const store = this.store;
    if (store.claimNonceAndTouchNow === undefined) {
      throw new TypeError(SessionMessages.storeAnswersLater('claimNonceAndTouchNow'));
    }
    const { sessionTimeout, maxSessionLifetime } = this.policy;
    const claimed = this.reportedNow('claim_nonce_and_touch', () =>
      store.claimNonceAndTouchNow!(id, nonce, ttl, now, sessionTimeout, maxSessionLifetime),
    );
    if (!claimed.nonceFresh) return { session: undefined, nonceFresh: false };
    const refusals = this.refusals;
    return {
      session: refusals.refuseRevokedNow(refusals.unlessEnded(claimed.session, now)),
      nonceFresh: true,
    };
  }
}
