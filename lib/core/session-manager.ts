import { NO_AUDIT, type AuditSink } from './audit-sink.js';
import { createDefaultSessionStore } from './default-session-store.js';
import { ExpiredSessionCleanup } from './expired-session-cleanup.js';
import { SessionChecks } from './session-checks.js';
import { SessionEvents } from './session-events.js';
import type { MeshAuditEventType } from './mesh-audit-event.interface.js';
import { isSessionId } from './session-id.js';
import { resolveSessionPolicy, type SessionPolicy } from './session-policy.js';
import { redactDumps } from './redacted.js';
import { SessionRecords } from './session-records.js';
import { SessionRefusals } from './session-refusals.js';
import type { Session, SessionStats } from './session.interface.js';
import { SessionMessages } from './session.messages.js';
import { SessionStore } from './session-store.js';
import { NOOP_SESSION_TELEMETRY, type SessionTelemetry } from './session-telemetry.js';

/**
 * Creates, reads, slides, revokes and cleans up sessions. It owns the policy (idle timeout,
 * absolute lifetime, revocation), the counters and the audit events; the store only holds data.
 *
 * Every method returns a Promise, so that a store shared by several instances can back it.
 *
 * Its store is a private field, and `util.inspect`, `console.log`, Nest's `Logger` and
 * `JSON.stringify` show only the store's class and the policy: no dump shows a session key.
 *
 * @example
 * ```ts
 * // Outside Nest, with a memory store:
 * const sessions = new SessionManager(3_600_000);
 * const session = await sessions.createSession('billing', randomBytes(32), { region: 'eu' });
 * await sessions.getSession(session.id); // slides the expiry
 *
 * // With a store, a policy and an audit sink of your choice:
 * new SessionManager(new MemorySessionStore(), { sessionTimeout: 300_000 }, auditSink);
 *
 * // Inside Nest: inject it.
 * constructor(private readonly sessions: SessionManager) {}
 * ```
 */
export class SessionManager {
  // Private fields: the store (and the helpers below, which hold it) may hold keys, and no
  // generic dump (util.inspect with showHidden, structuredClone, Object.keys) sees these.
  readonly #store: SessionStore;
  readonly #sessionTimeout: number;
  readonly #maxLifetime: number | undefined;
  readonly #events: SessionEvents;
  readonly #refusals: SessionRefusals;
  readonly #checks: SessionChecks;
  readonly #records: SessionRecords;
  readonly #cleanup: ExpiredSessionCleanup;

  /**
   * A manager with its own memory store.
   *
   * @param sessionTimeout sliding idle timeout (ms)
   * @default sessionTimeout 3_600_000
   * @throws {TypeError} naming `sessionTimeout` when it is not a positive integer
   */
  constructor(sessionTimeout?: number);
  /**
   * A manager over a store.
   *
   * @param store where sessions live
   * @param policy idle timeout and absolute lifetime
   * @param audit where audit events go; by default nowhere
   * @param telemetry where counts and store-call timings go; by default nowhere
   *   (`MeshSessionModule` gives its OpenTelemetry recorder)
   * @throws {TypeError} naming the bad argument
   */
  constructor(
    store: SessionStore,
    policy?: SessionPolicy,
    audit?: AuditSink,
    telemetry?: SessionTelemetry,
  );
  constructor(
    storeOrTimeout?: SessionStore | number,
    policy: SessionPolicy = {},
    audit: AuditSink = NO_AUDIT,
    telemetry: SessionTelemetry = NOOP_SESSION_TELEMETRY,
  ) {
    let store: SessionStore;
    if (storeOrTimeout instanceof SessionStore) {
      store = storeOrTimeout;
    } else {
      if (storeOrTimeout !== undefined && typeof storeOrTimeout !== 'number') {
        throw new TypeError(
          SessionMessages.invalidArgument(
            'store',
            'a SessionStore or a timeout in ms',
            storeOrTimeout,
          ),
        );
      }
      policy = { sessionTimeout: storeOrTimeout };
      store = createDefaultSessionStore();
    }
    const resolved = resolveSessionPolicy(policy);
    const events = new SessionEvents(audit, telemetry);
    this.#store = store;
    this.#sessionTimeout = resolved.sessionTimeout;
    this.#maxLifetime = resolved.maxSessionLifetime;
    this.#events = events;
    this.#refusals = new SessionRefusals(store, events, telemetry);
    this.#checks = new SessionChecks(store, resolved, this.#refusals, telemetry);
    this.#records = new SessionRecords(store, resolved, events, telemetry);
    this.#cleanup = new ExpiredSessionCleanup(store, events, telemetry);
  }

  /**
   * Creates a session for a remote service.
   *
   * @param serviceId remote service id: a non-empty string of at most 255 characters
   * @param sessionKey the shared AES-256 key: exactly 32 bytes; the session keeps a copy
   * @param metadata a plain JSON-serialisable object
   * @returns the new session
   * @throws {TypeError} naming the bad argument
   * @example
   * ```ts
   * const session = await sessions.createSession('billing', randomBytes(32));
   * ```
   */
  createSession(
    serviceId: string,
    sessionKey: Buffer,
    metadata?: Record<string, unknown>,
  ): Promise<Session> {
    return this.#records.create(serviceId, sessionKey, metadata);
  }

  /**
   * Reads a session. This counts as activity: `lastActivity` and `expiresAt` slide, never past
   * `createdAt + maxSessionLifetime`. An expired session is removed.
   *
   * @param id session id
   * @returns the session, or `undefined` when the id is malformed, unknown or expired
   */
  getSession(id: string): Promise<Session | undefined> {
    if (!isSessionId(id)) return Promise.resolve(undefined);
    if (this.#store.touchNow === undefined) return this.#checks.slide(id);
    // A store in this process answers at once: the caller's Promise is the only one made.
    try {
      return Promise.resolve(this.#checks.slideNow(id, Date.now()));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * The most recently active live session of a service. Its cost grows with the sessions of
   * that service only. It does not count as activity.
   *
   * @param serviceId remote service id
   * @returns the session, or `undefined`
   */
  getSessionByServiceId(serviceId: string): Promise<Session | undefined> {
    return this.#records.latestOf(serviceId);
  }

  /**
   * All live sessions of a service. It does not count as activity.
   *
   * @param serviceId remote service id
   * @returns the sessions, in no particular order
   */
  getSessionsByServiceId(serviceId: string): Promise<Session[]> {
    return this.#records.allOf(serviceId);
  }

  /**
   * Merges `patch` into a live session's metadata, for example `{ revoked: true }`.
   *
   * @param id session id
   * @param patch a plain JSON-serialisable object
   * @returns the updated session, or `undefined` when there is no live session with this id
   * @throws {TypeError} when `patch` is not a plain JSON-serialisable object
   */
  updateSessionMetadata(id: string, patch: Record<string, unknown>): Promise<Session | undefined> {
    return this.#records.updateMetadata(id, patch);
  }

  /**
   * Ends a session.
   *
   * @param id session id
   * @returns whether a session was removed
   */
  async invalidateSession(id: string): Promise<boolean> {
    return this.#refusals.remove(id, 'session_invalidated');
  }

  /**
   * Ends every session of a service.
   *
   * @param serviceId remote service id
   * @returns how many sessions were removed
   */
  invalidateSessionsByServiceId(serviceId: string): Promise<number> {
    return this.#records.removeAllOf(serviceId);
  }

  /**
   * Removes expired sessions. Its cost grows with the number of expired sessions, and it
   * yields to the event loop between chunks. Concurrent calls share one run. Each run is timed
   * and, when tracing, recorded as a span.
   *
   * @returns how many sessions were removed
   */
  cleanupExpiredSessions(): Promise<number> {
    return this.#cleanup.run();
  }

  /**
   * Session counters. `activeSessions` is the store's count of live sessions (expired sessions
   * that cleanup has not removed yet are not counted); the others count since start.
   */
  getStats(): Promise<SessionStats> {
    return this.#records.stats();
  }

  /**
   * The check the guard runs on every request: the id must be a UUID, the session live and not
   * revoked. A revoked session is invalidated. Every refusal is counted and audited.
   *
   * @param id the session id from the request
   * @returns the session, slid as by `getSession`
   * @throws {SessionValidationError} with the reason and the caller-facing message
   * @throws whatever the store throws when it fails
   */
  validateSession(id: string | undefined): Promise<Session> {
    return this.#checks.validateSession(id);
  }

  /**
   * {@link validateSession} without a Promise, when the store keeps its sessions in this
   * process (the memory store): the same checks, slide, counts and audit. `SessionGuard` tries
   * it first, so that a request it checks on such a store costs no Promise.
   *
   * @param id the session id from the request
   * @returns the session, slid as by `getSession`; `undefined` when the store keeps its
   *   sessions elsewhere (then use `validateSession`)
   * @throws {SessionValidationError} with the reason and the caller-facing message
   * @throws whatever the store throws when it fails
   * @example
   * ```ts
   * const session = manager.validateSessionNow(id) ?? (await manager.validateSession(id));
   * ```
   */
  validateSessionNow(id: string | undefined): Session | undefined {
    return this.#checks.validateSessionNow(id);
  }

  /**
   * Signature mode's read, before the signature is checked: the live session, not slid, with
   * nothing written to the store (see {@link SessionChecks.readSession}).
   *
   * @param id the signature's `keyid`
   * @param now the request's time (ms)
   * @returns the session, not slid
   * @throws {SessionValidationError} 'invalid', 'not_found' or 'revoked'
   */
  readSession(id: string, now: number = Date.now()): Promise<Session> {
    return this.#checks.readSession(id, now);
  }

  /**
   * {@link readSession} without a Promise, when the store keeps its sessions in this process
   * (the memory store): the same checks, counts and audit. `RequestVerifier` tries it first,
   * and then claims the nonce with {@link claimNonceAndTouchNow}.
   *
   * @param id the signature's `keyid`
   * @param now the request's time (ms)
   * @returns the session, not slid; `undefined` when the store keeps its sessions elsewhere
   *   (then use `readSession`)
   * @throws {SessionValidationError} 'invalid', 'not_found' or 'revoked'
   * @example
   * ```ts
   * const session = manager.readSessionNow(keyid) ?? (await manager.readSession(keyid));
   * ```
   */
  readSessionNow(id: string, now: number = Date.now()): Session | undefined {
    return this.#checks.readSessionNow(id, now);
  }

  /**
   * {@link claimNonceAndTouch} without a Promise, once {@link readSessionNow} has answered.
   *
   * @param id the session id (the signature's `keyid`)
   * @param nonce the request's nonce
   * @param ttl how long the nonce stays claimed (ms)
   * @param now the request's time (ms)
   * @returns `nonceFresh: false` for a nonce already used, or the slid session
   * @throws {SessionValidationError} 'not_found' or 'revoked'
   * @throws {TypeError} when the store answers through a Promise only (`readSessionNow`
   *   gave `undefined`)
   * @example
   * ```ts
   * const { nonceFresh } = manager.claimNonceAndTouchNow(session.id, nonce, 121_000);
   * if (!nonceFresh) throw new Error('replayed');
   * ```
   */
  claimNonceAndTouchNow(
    id: string,
    nonce: string,
    ttl: number,
    now: number = Date.now(),
  ): { session: Session; nonceFresh: true } | { session: undefined; nonceFresh: false } {
    return this.#checks.claimNonceAndTouchNow(id, nonce, ttl, now);
  }

  /**
   * Signature mode's write, once the signature verified: claims the nonce and slides the
   * session in one store call (see {@link SessionChecks.claimNonceAndTouch}).
   *
   * @param id the session id (the signature's `keyid`)
   * @param nonce the request's nonce
   * @param ttl how long the nonce stays claimed (ms)
   * @param now the request's time (ms)
   * @returns `nonceFresh: false` for a nonce already used, or the slid session
   * @throws {SessionValidationError} 'not_found' or 'revoked'
   */
  claimNonceAndTouch(
    id: string,
    nonce: string,
    ttl: number,
    now: number = Date.now(),
  ): Promise<{ session: Session; nonceFresh: true } | { session: undefined; nonceFresh: false }> {
    return this.#checks.claimNonceAndTouch(id, nonce, ttl, now);
  }

  /**
   * Counts and audits a refused request, for refusals decided outside `validateSession`
   * (such as a rate-limit denial).
   *
   * @param eventType `'rate_limit'` or `'error'`
   * @param reason short reason for the audit event
   * @param serviceId the remote service, when known
   */
  recordRejection(eventType: MeshAuditEventType, reason: string, serviceId?: string): void {
    this.#events.requestRejected(eventType, reason, serviceId);
  }

  static {
    // Keeps the store's keys out of `console.log`, `util.inspect` and Nest's `Logger`.
    redactDumps(this, (self) => ({
      store: self.#store.constructor.name,
      sessionTimeout: self.#sessionTimeout,
      maxSessionLifetime: self.#maxLifetime,
    }));
  }
}
