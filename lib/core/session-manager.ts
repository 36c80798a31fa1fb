import { NO_AUDIT, sessionRef, type AuditSink } from './audit-sink.js';
import type { MeshAuditEventType } from './mesh-audit-event.interface.js';
import { MeshSession } from './mesh-session.js';
import { createSessionId, isSessionId } from './session-id.js';
import { resolveSessionPolicy, type SessionPolicy } from './session-policy.js';
import { SESSION_KEY_LENGTH, MAX_SERVICE_ID_LENGTH } from './session.constants.js';
import type { Session, SessionStats } from './session.interface.js';
import { SessionMessages } from './session.messages.js';
import { SessionStore } from './session-store.js';
import { SessionValidationError, type SessionRejectionReason } from './session-validation.error.js';

const MAX_METADATA_DEPTH = 16;

/**
 * Makes the store of a manager built from a timeout alone (`new SessionManager(ttl)`). The core
 * names no store: the package entry registers the memory store here.
 */
let defaultStore: (() => SessionStore) | undefined;

/**
 * Registers the store that `new SessionManager(sessionTimeout)` uses. Called once by the package
 * entry, which gives the memory store.
 *
 * @param factory makes a new store
 * @example
 * ```ts
 * useDefaultSessionStore(() => new MemorySessionStore());
 * ```
 */
export function useDefaultSessionStore(factory: () => SessionStore): void {
  defaultStore = factory;
}

/**
 * Creates, reads, slides, revokes and cleans up sessions. It owns the policy (idle timeout,
 * absolute lifetime, revocation), the counters and the audit events; the store only holds data.
 *
 * Every method returns a Promise, so that a store shared by several instances can back it.
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
  private readonly store: SessionStore;
  private readonly audit: AuditSink;
  private readonly sessionTimeout: number;
  private readonly maxLifetime: number | undefined;
  private created = 0;
  private expired = 0;
  private invalidated = 0;
  private rejected = 0;
  private runningCleanup: Promise<number> | undefined;

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
   * @throws {TypeError} naming the bad argument
   */
  constructor(store: SessionStore, policy?: SessionPolicy, audit?: AuditSink);
  constructor(
    storeOrTimeout?: SessionStore | number,
    policy: SessionPolicy = {},
    audit: AuditSink = NO_AUDIT,
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
      if (defaultStore === undefined) {
        throw new TypeError(
          SessionMessages.invalidArgument('store', 'a SessionStore', storeOrTimeout),
        );
      }
      store = defaultStore();
    }
    const resolved = resolveSessionPolicy(policy);
    this.store = store;
    this.audit = audit;
    this.sessionTimeout = resolved.sessionTimeout;
    this.maxLifetime = resolved.maxSessionLifetime;
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
  async createSession(
    serviceId: string,
    sessionKey: Buffer,
    metadata?: Record<string, unknown>,
  ): Promise<Session> {
    assertServiceId(serviceId);
    if (!Buffer.isBuffer(sessionKey) || sessionKey.length !== SESSION_KEY_LENGTH) {
      throw new TypeError(
        SessionMessages.invalidArgument('sessionKey', 'a Buffer of exactly 32 bytes', sessionKey),
      );
    }
    const safeMetadata = metadata === undefined ? undefined : copyMetadata(metadata, 'metadata');
    const now = Date.now();
    // A private copy: the caller may reuse or wipe its buffer.
    const key = Buffer.allocUnsafe(SESSION_KEY_LENGTH);
    sessionKey.copy(key);
    const session = new MeshSession(
      createSessionId(),
      serviceId,
      key,
      now,
      now,
      this.expiryFor(now, now),
      safeMetadata,
    );
    await this.store.create(session);
    this.created++;
    this.event('connection', serviceId, 'session_created', session.id);
    return session;
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
    return this.slide(id);
  }

  /** `getSession` once the id is known to be well-formed. */
  private async slide(id: string): Promise<Session | undefined> {
    const now = Date.now();
    return this.unlessExpired(
      await this.store.touch(id, now, this.sessionTimeout, this.maxLifetime),
      now,
    );
  }

  /** What `touch` answered, with an expired session counted, audited and dropped. */
  private unlessExpired(session: Session | undefined, now: number): Session | undefined {
    if (session === undefined) return undefined;
    if (session.expiresAt <= now) {
      this.expired++;
      this.event('connection', session.serviceId, 'session_expired', session.id);
      return undefined;
    }
    return session;
  }

  /**
   * The most recently active live session of a service. Its cost grows with the sessions of
   * that service only. It does not count as activity.
   *
   * @param serviceId remote service id
   * @returns the session, or `undefined`
   */
  async getSessionByServiceId(serviceId: string): Promise<Session | undefined> {
    if (typeof serviceId !== 'string' || serviceId.length === 0) return undefined;
    let latest: Session | undefined;
    for (const session of await this.store.findByServiceId(serviceId, Date.now())) {
      if (latest === undefined || session.lastActivity > latest.lastActivity) latest = session;
    }
    return latest;
  }

  /**
   * All live sessions of a service. It does not count as activity.
   *
   * @param serviceId remote service id
   * @returns the sessions, in no particular order
   */
  async getSessionsByServiceId(serviceId: string): Promise<Session[]> {
    if (typeof serviceId !== 'string' || serviceId.length === 0) return [];
    return this.store.findByServiceId(serviceId, Date.now());
  }

  /**
   * Merges `patch` into a live session's metadata, for example `{ revoked: true }`.
   *
   * @param id session id
   * @param patch a plain JSON-serialisable object
   * @returns the updated session, or `undefined` when there is no live session with this id
   * @throws {TypeError} when `patch` is not a plain JSON-serialisable object
   */
  async updateSessionMetadata(
    id: string,
    patch: Record<string, unknown>,
  ): Promise<Session | undefined> {
    const safePatch = copyMetadata(patch, 'patch');
    if (!isSessionId(id)) return undefined;
    return this.store.updateMetadata(id, safePatch, Date.now());
  }

  /**
   * Ends a session.
   *
   * @param id session id
   * @returns whether a session was removed
   */
  async invalidateSession(id: string): Promise<boolean> {
    return this.remove(id, 'session_invalidated');
  }

  /**
   * Ends every session of a service.
   *
   * @param serviceId remote service id
   * @returns how many sessions were removed
   */
  async invalidateSessionsByServiceId(serviceId: string): Promise<number> {
    if (typeof serviceId !== 'string' || serviceId.length === 0) return 0;
    const count = await this.store.deleteByServiceId(serviceId);
    if (count > 0) {
      this.invalidated += count;
      this.event('connection', serviceId, 'service_sessions_invalidated', undefined, { count });
    }
    return count;
  }

  /**
   * Removes expired sessions. Its cost grows with the number of expired sessions, and it
   * yields to the event loop between chunks. Concurrent calls share one run.
   *
   * @returns how many sessions were removed
   */
  cleanupExpiredSessions(): Promise<number> {
    this.runningCleanup ??= this.store.deleteExpired(Date.now()).then(
      (count) => {
        this.runningCleanup = undefined;
        if (count > 0) {
          this.expired += count;
          this.event('connection', undefined, 'sessions_expired', undefined, { count });
        }
        return count;
      },
      (error: unknown) => {
        this.runningCleanup = undefined;
        throw error;
      },
    );
    return this.runningCleanup;
  }

  /**
   * Session counters. `activeSessions` comes from the store; the others count since start.
   */
  async getStats(): Promise<SessionStats> {
    return {
      activeSessions: await this.store.count(),
      created: this.created,
      expired: this.expired,
      invalidated: this.invalidated,
      rejected: this.rejected,
    };
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
  async validateSession(id: string | undefined): Promise<Session> {
    if (id === undefined || id === '') {
      throw this.reject('missing', SessionMessages.missingSessionId());
    }
    if (!isSessionId(id)) throw this.reject('invalid', SessionMessages.invalidSessionId());
    // The slide inline rather than through `slide`: one Promise less on every guarded request.
    const now = Date.now();
    const session = this.unlessExpired(
      await this.store.touch(id, now, this.sessionTimeout, this.maxLifetime),
      now,
    );
    if (session === undefined) throw this.reject('not_found', SessionMessages.sessionNotFound());
    if (session.metadata?.revoked === true) {
      await this.remove(id, 'session_revoked');
      throw this.reject('revoked', SessionMessages.sessionRevoked(), session.serviceId);
    }
    return session;
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
    if (!isSessionId(id)) throw this.reject('invalid', SessionMessages.invalidSessionId());
    return this.refuseRevoked(await this.store.get(id, now));
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
    const { session, nonceFresh } = await this.store.claimNonceAndTouch(
      id,
      nonce,
      ttl,
      now,
      this.sessionTimeout,
      this.maxLifetime,
    );
    if (!nonceFresh) return { session: undefined, nonceFresh };
    if (session !== undefined && session.expiresAt <= now) {
      this.expired++;
      this.event('connection', session.serviceId, 'session_expired', id);
      throw this.reject('not_found', SessionMessages.sessionNotFound());
    }
    return { session: await this.refuseRevoked(session), nonceFresh };
  }

  /** Refuses a missing session ('not_found') or a revoked one ('revoked', invalidated). */
  private async refuseRevoked(session: Session | undefined): Promise<Session> {
    if (session === undefined) {
      throw this.reject('not_found', SessionMessages.sessionNotFound());
    }
    if (session.metadata?.revoked === true) {
      await this.remove(session.id, 'session_revoked');
      throw this.reject('revoked', SessionMessages.sessionRevoked(), session.serviceId);
    }
    return session;
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
    this.rejected++;
    if (this.audit.enabled) {
      this.audit.emit(eventType, serviceId, {
        action: 'request_rejected',
        success: false,
        error: reason,
      });
    }
  }

  private reject(
    reason: SessionRejectionReason,
    message: string,
    serviceId?: string,
  ): SessionValidationError {
    this.recordRejection('error', reason, serviceId);
    return new SessionValidationError(reason, message);
  }

  private async remove(id: string, action: string): Promise<boolean> {
    if (!isSessionId(id)) return false;
    const removed = await this.store.delete(id);
    if (removed === undefined) return false;
    this.invalidated++;
    this.event('connection', removed.serviceId, action, id);
    return true;
  }

  private expiryFor(now: number, createdAt: number): number {
    const idle = now + this.sessionTimeout;
    return this.maxLifetime === undefined ? idle : Math.min(idle, createdAt + this.maxLifetime);
  }

  private event(
    eventType: MeshAuditEventType,
    serviceId: string | undefined,
    action: string,
    sessionId?: string,
    extra?: Record<string, unknown>,
  ): void {
    if (!this.audit.enabled) return;
    const metadata =
      sessionId === undefined ? extra : { sessionRef: sessionRef(sessionId), ...extra };
    this.audit.emit(eventType, serviceId, { action, success: true, metadata });
  }
}

function assertServiceId(serviceId: unknown): asserts serviceId is string {
  if (
    typeof serviceId !== 'string' ||
    serviceId.length === 0 ||
    serviceId.length > MAX_SERVICE_ID_LENGTH
  ) {
    throw new TypeError(
      SessionMessages.invalidArgument(
        'serviceId',
        `a non-empty string of at most ${MAX_SERVICE_ID_LENGTH} characters`,
        serviceId,
      ),
    );
  }
}

/**
 * Deep-copies a plain JSON object, so the stored metadata cannot change behind the store's
 * back, and refuses anything JSON cannot carry faithfully.
 */
function copyMetadata(value: unknown, argument: string): Record<string, unknown> {
  if (!isPlainObject(value)) {
    throw new TypeError(
      SessionMessages.invalidArgument(argument, 'a plain JSON-serialisable object', value),
    );
  }
  return copyJson(value, argument, 0) as Record<string, unknown>;
}

function copyJson(value: unknown, path: string, depth: number): unknown {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (Number.isFinite(value)) return value;
  } else if (depth < MAX_METADATA_DEPTH) {
    if (Array.isArray(value)) {
      return Object.freeze(value.map((item, i) => copyJson(item, `${path}[${i}]`, depth + 1)));
    }
    if (isPlainObject(value)) {
      const copy: Record<string, unknown> = {};
      for (const key of Object.keys(value)) {
        // Stored metadata is merged with object spread later, where "__proto__" is unsafe.
        if (key === '__proto__') {
          throw new TypeError(
            SessionMessages.invalidArgument(`${path}.__proto__`, 'absent', value[key]),
          );
        }
        copy[key] = copyJson(value[key], `${path}.${key}`, depth + 1);
      }
      // Frozen: a session handed out must not be a way to change what is stored.
      return Object.freeze(copy);
    }
  }
  throw new TypeError(
    SessionMessages.invalidArgument(
      path,
      'a JSON value (finite number, string, boolean, null, array or plain object)',
      value,
    ),
  );
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}
