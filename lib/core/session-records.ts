import { MeshSession } from './mesh-session.js';
import { assertServiceId, assertSessionKey, copyMetadata } from './session-arguments.js';
import type { SessionEvents } from './session-events.js';
import { createSessionId, isSessionId } from './session-id.js';
import type { ResolvedSessionPolicy } from './session-policy.js';
import { SESSION_KEY_LENGTH } from './session.constants.js';
import type { Session, SessionStats } from './session.interface.js';
import type { SessionStore } from './session-store.js';
import { NOOP_SESSION_TELEMETRY, type SessionTelemetry } from './session-telemetry.js';

/**
 * The stored sessions as `SessionManager` handles them outside a request's checks: it creates
 * them, finds, updates and ends them by service, and counts them. Each store call is reported to
 * the telemetry (its duration, and its error when it fails); each change is counted and audited
 * through {@link SessionEvents}.
 *
 * @example
 * ```ts
 * const records = new SessionRecords(store, policy, events);
 * const session = await records.create('billing', randomBytes(32), { region: 'eu' });
 * await records.latestOf('billing'); // the same session
 * ```
 */
export class SessionRecords {
  /**
   * @param store where sessions live
   * @param policy idle timeout and absolute lifetime
   * @param events counts and audits what happens
   * @param telemetry times the store calls
   */
  constructor(
    private readonly store: SessionStore,
    private readonly policy: ResolvedSessionPolicy,
    private readonly events: SessionEvents,
    private readonly telemetry: SessionTelemetry = NOOP_SESSION_TELEMETRY,
  ) {}

  /**
   * Creates a session for a remote service (`SessionManager.createSession`).
   *
   * @param serviceId remote service id: a non-empty string of at most 255 characters
   * @param sessionKey the shared AES-256 key: exactly 32 bytes; the session keeps a copy
   * @param metadata a plain JSON-serialisable object
   * @returns the new session
   * @throws {TypeError} naming the bad argument
   */
  create(
    serviceId: string,
    sessionKey: Buffer,
    metadata?: Record<string, unknown>,
  ): Promise<Session> {
    try {
      return this.save(this.newSession(serviceId, sessionKey, metadata));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** A new session, not stored yet; throws on a bad argument. */
  private newSession(
    serviceId: string,
    sessionKey: Buffer,
    metadata: Record<string, unknown> | undefined,
  ): MeshSession {
    assertServiceId(serviceId);
    assertSessionKey(sessionKey);
    const safeMetadata = metadata === undefined ? undefined : copyMetadata(metadata, 'metadata');
    const now = Date.now();
    // A private copy: the caller may reuse or wipe its buffer.
    const key = Buffer.allocUnsafe(SESSION_KEY_LENGTH);
    key.set(sessionKey);
    return new MeshSession(
      createSessionId(),
      serviceId,
      key,
      now,
      now,
      this.expiryFor(now, now),
      safeMetadata,
    );
  }

  /** Stores a new session; a store in this process does it at once, with no Promise of its own. */
  private save(session: MeshSession): Promise<Session> {
    const store = this.store;
    const t = this.telemetry;
    const mark = t.startStoreCall('create');
    if (store.createNow === undefined) {
      return t
        .endStoreCall('create', mark, store.create(session))
        .then(() => this.created(session));
    }
    try {
      store.createNow(session);
    } catch (error) {
      t.storeCallFailed('create', mark, error);
      throw error;
    }
    t.storeCallSucceeded('create', mark);
    return Promise.resolve(this.created(session));
  }

  private created(session: MeshSession): MeshSession {
    this.events.sessionCreated(session.serviceId, session.id);
    return session;
  }

  /**
   * The most recently active live session of a service (`SessionManager.getSessionByServiceId`).
   *
   * @param serviceId remote service id
   * @returns the session, or `undefined`
   */
  latestOf(serviceId: string): Promise<Session | undefined> {
    if (typeof serviceId !== 'string' || serviceId.length === 0) {
      return Promise.resolve(undefined);
    }
    const t = this.telemetry;
    const mark = t.startStoreCall('find_by_service');
    let pending: Promise<Session | undefined>;
    try {
      pending = this.store.findLatestByServiceId(serviceId, Date.now());
    } catch (error) {
      // A store that throws instead of rejecting still gives the caller a rejected Promise.
      pending = Promise.reject(error);
    }
    // No async layer of its own: on the memory store, the store's Promise is the only one.
    return t.endStoreCall('find_by_service', mark, pending);
  }

  /**
   * All live sessions of a service (`SessionManager.getSessionsByServiceId`).
   *
   * @param serviceId remote service id
   * @returns the sessions, in no particular order
   */
  async allOf(serviceId: string): Promise<Session[]> {
    if (typeof serviceId !== 'string' || serviceId.length === 0) return [];
    return this.findByServiceId(serviceId);
  }

  private findByServiceId(serviceId: string): Promise<Session[]> {
    const t = this.telemetry;
    return t.endStoreCall(
      'find_by_service',
      t.startStoreCall('find_by_service'),
      this.store.findByServiceId(serviceId, Date.now()),
    );
  }

  /**
   * Merges `patch` into a live session's metadata (`SessionManager.updateSessionMetadata`).
   *
   * @param id session id
   * @param patch a plain JSON-serialisable object
   * @returns the updated session, or `undefined` when there is no live session with this id
   * @throws {TypeError} when `patch` is not a plain JSON-serialisable object
   */
  async updateMetadata(id: string, patch: Record<string, unknown>): Promise<Session | undefined> {
    const safePatch = copyMetadata(patch, 'patch');
    if (!isSessionId(id)) return undefined;
    const t = this.telemetry;
    return t.endStoreCall(
      'update_metadata',
      t.startStoreCall('update_metadata'),
      this.store.updateMetadata(id, safePatch, Date.now()),
    );
  }

  /**
   * Ends every session of a service (`SessionManager.invalidateSessionsByServiceId`).
   *
   * @param serviceId remote service id
   * @returns how many sessions were removed
   */
  async removeAllOf(serviceId: string): Promise<number> {
    if (typeof serviceId !== 'string' || serviceId.length === 0) return 0;
    const t = this.telemetry;
    const count = await t.endStoreCall(
      'delete_by_service',
      t.startStoreCall('delete_by_service'),
      this.store.deleteByServiceId(serviceId),
    );
    this.events.serviceInvalidated(serviceId, count);
    return count;
  }

  /**
   * The counters, with the store's count of live sessions (`SessionManager.getStats`).
   *
   * @returns the stats
   */
  async stats(): Promise<SessionStats> {
    const t = this.telemetry;
    return this.events.stats(
      await t.endStoreCall('count', t.startStoreCall('count'), this.store.count(Date.now())),
    );
  }

  private expiryFor(now: number, createdAt: number): number {
    const idle = now + this.policy.sessionTimeout;
    const max = this.policy.maxSessionLifetime;
    return max === undefined ? idle : Math.min(idle, createdAt + max);
  }
}
