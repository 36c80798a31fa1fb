import type { Session } from './session.interface.js';
import { RateLimiter } from './rate-limiter.js';
import type { RateLimiterOptions } from './rate-limiter-options.js';
import { consoleLogger, type SessionStoreLogger } from './session-store-logger.js';

/**
 * Where sessions live. The class is also the injection token of the store in use.
 *
 * A store holds data only; the policy (idle timeout, absolute lifetime) comes from
 * `SessionManager` on every call, so that a remote store can enforce it atomically.
 * Stores return {@link MeshSession} instances, so a key never leaks through serialisation.
 *
 * @example
 * ```ts
 * class MyStore extends SessionStore { ... }
 * MeshSessionModule.forRoot({ store: new MyStore() });
 * ```
 */
export abstract class SessionStore {
  #logger: SessionStoreLogger | undefined;

  /**
   * Where the store reports connection changes and stored data it cannot read: the logger given
   * to {@link SessionStore.useLogger}, or else the console.
   */
  protected get logger(): SessionStoreLogger {
    return (this.#logger ??= consoleLogger(this.constructor.name));
  }

  /**
   * Sets where the store logs. `MeshSessionModule` gives the store it is handed Nest's `Logger`
   * (named after the store's class) unless one was set before; outside Nest the store logs to
   * the console.
   *
   * @param logger a logger, such as `new Logger('RedisSessionStore')`
   * @param replace whether to replace a logger set before
   * @default replace true
   * @example
   * ```ts
   * store.useLogger(new Logger('Sessions'));
   * ```
   */
  useLogger(logger: SessionStoreLogger, replace = true): void {
    if (replace || this.#logger === undefined) this.#logger = logger;
  }

  /**
   * What kind of store this is, as metrics name it (the `mesh_session.store.kind` attribute):
   * `'memory'`, `'redis'`, or `'custom'` unless a subclass says otherwise. Keep it one short,
   * fixed word per class.
   */
  get telemetryKind(): string {
    return 'custom';
  }

  /**
   * Saves a new session. Its lifetime in the store follows `session.expiresAt`.
   *
   * @param session the session to save
   */
  abstract create(session: Session): Promise<void>;

  /**
   * `create`, done without a Promise. Only a store that keeps its sessions in this process
   * implements it (the memory store does); `SessionManager.createSession` then makes only the
   * Promise it returns. A remote store leaves it out, and `create` is used.
   *
   * @param session the session to save
   * @throws {Error} when a session with this id is stored
   */
  createNow?(session: Session): void;

  /**
   * Reads a session and slides its expiry, atomically.
   *
   * - A live session gets `lastActivity = now` and
   *   `expiresAt = min(now + idleTimeout, createdAt + maxLifetime)`, and is returned.
   * - A session whose `expiresAt <= now` is removed and returned unchanged, so that the
   *   caller can tell an expiry from an unknown id (its `expiresAt` is `<= now`).
   * - An unknown id gives `undefined`.
   *
   * @param id session id, already checked to be a UUID
   * @param now the current time (ms)
   * @param idleTimeout sliding idle timeout (ms)
   * @param maxLifetime absolute lifetime cap (ms), or `undefined` for none
   */
  abstract touch(
    id: string,
    now: number,
    idleTimeout: number,
    maxLifetime: number | undefined,
  ): Promise<Session | undefined>;

  /**
   * `touch`, answered without a Promise. Only a store that keeps its sessions in this process
   * implements it (the memory store does); `SessionGuard` then checks a request in session-id
   * mode with no Promise at all, and `SessionManager.getSession` makes only the Promise it
   * returns. A remote store leaves it out, and `touch` is used.
   *
   * @param id session id, already checked to be a UUID
   * @param now the current time (ms)
   * @param idleTimeout sliding idle timeout (ms)
   * @param maxLifetime absolute lifetime cap (ms), or `undefined` for none
   * @returns what `touch` would resolve to
   */
  touchNow?(
    id: string,
    now: number,
    idleTimeout: number,
    maxLifetime: number | undefined,
  ): Session | undefined;

  /**
   * `get`, answered without a Promise: signature mode's read, for a store that keeps its
   * sessions in this process (the memory store does). Implement it together with
   * {@link claimNonceAndTouchNow}, or neither: `SessionGuard` then verifies a signed request
   * with no Promise at all. A remote store leaves both out, and `get` is used.
   *
   * @param id session id, already checked to be a UUID
   * @param now the current time (ms)
   * @returns what `get` would resolve to
   * @example
   * ```ts
   * class MapStore extends SessionStore {
   *   getNow(id: string, now: number) {
   *     const session = this.sessions.get(id);
   *     return session !== undefined && session.expiresAt > now ? session : undefined;
   *   }
   *   async get(id: string, now: number) {
   *     return this.getNow(id, now);
   *   }
   *   // ...
   * }
   * ```
   */
  getNow?(id: string, now: number): Session | undefined;

  /**
   * Reads a live session without sliding it.
   *
   * @param id session id, already checked to be a UUID
   * @param now the current time (ms)
   * @returns the session, or `undefined` when it is unknown or `expiresAt <= now`
   */
  abstract get(id: string, now: number): Promise<Session | undefined>;

  /**
   * Merges `patch` into the metadata of a live session.
   *
   * @param id session id
   * @param patch keys to set; the result replaces the stored metadata
   * @param now the current time (ms); an expired session is not updated
   * @returns the updated session, or `undefined` when there is no live session with this id
   */
  abstract updateMetadata(
    id: string,
    patch: Record<string, unknown>,
    now: number,
  ): Promise<Session | undefined>;

  /**
   * Removes a session.
   *
   * @param id session id
   * @returns the removed session, or `undefined` when there was none
   */
  abstract delete(id: string): Promise<Session | undefined>;

  /**
   * All live sessions (`expiresAt > now`) of one service. Its cost grows with the number of
   * sessions of that service, never with the total.
   *
   * @param serviceId remote service id
   * @param now the current time (ms)
   */
  abstract findByServiceId(serviceId: string, now: number): Promise<Session[]>;

  /**
   * The live session of one service with the latest `lastActivity` (the first found, on a
   * tie). The default picks it from {@link findByServiceId}; a store that can answer without
   * building the list overrides it (the memory store reads each session's times in place).
   *
   * @param serviceId remote service id
   * @param now the current time (ms)
   * @returns the session, or `undefined` when the service has no live session
   * @example
   * ```ts
   * const session = await store.findLatestByServiceId('billing', Date.now());
   * ```
   */
  async findLatestByServiceId(serviceId: string, now: number): Promise<Session | undefined> {
    let latest: Session | undefined;
    for (const session of await this.findByServiceId(serviceId, now)) {
      if (latest === undefined || session.lastActivity > latest.lastActivity) latest = session;
    }
    return latest;
  }

  /**
   * Removes every session of one service.
   *
   * @param serviceId remote service id
   * @returns how many sessions were removed
   */
  abstract deleteByServiceId(serviceId: string): Promise<number>;

  /**
   * Removes the sessions whose `expiresAt <= now`. Its cost grows with the number of expired
   * sessions, and it yields to the event loop between chunks of work.
   *
   * @param now the current time (ms)
   * @returns how many sessions were removed
   */
  abstract deleteExpired(now: number): Promise<number>;

  /**
   * How many live sessions (`expiresAt > now`) the store holds: sessions that expired and that
   * cleanup has not removed yet are not counted. It must not scan every session: the health
   * indicator, `getStats()` and the `mesh_session.sessions.active` gauge call it.
   *
   * @param now the current time (ms); the built-in stores default it to `Date.now()`
   */
  abstract count(now?: number): Promise<number>;

  /**
   * Claims a one-time value (a nonce) for `ttl` ms. Used for replay protection.
   *
   * @param scope namespace of the nonce, such as a session id
   * @param nonce the value to claim
   * @param ttl how long the claim lasts (ms)
   * @param now the current time (ms)
   * @returns `true` when the nonce was not claimed before inside its window
   */
  abstract claimNonce(scope: string, nonce: string, ttl: number, now: number): Promise<boolean>;

  /**
   * Signature mode's last step, run only once the request's signature has verified: claims
   * the request's nonce in the session's scope (as `claimNonce(id, nonce, ...)`: set if absent,
   * with a time limit) and, when the nonce was fresh, slides the session as `touch` does. A
   * replayed nonce slides nothing. A remote store does both atomically in one round trip; the
   * default composes `claimNonce` and `touch`.
   *
   * Claiming after the signature check means a caller without the session key never writes a
   * nonce into the store.
   *
   * @param id session id, already checked to be a UUID; also the nonce's scope
   * @param nonce the request's nonce
   * @param nonceTtl how long the claim lasts (ms)
   * @param now the current time (ms)
   * @param idleTimeout sliding idle timeout (ms)
   * @param maxLifetime absolute lifetime cap (ms), or `undefined` for none
   * @returns `nonceFresh: false` (and no session) for a nonce already claimed; otherwise
   *   `nonceFresh: true` and what `touch` returns (a slid session, an expired one that was
   *   removed, or `undefined`)
   * @example
   * ```ts
   * const { session, nonceFresh } = await store.claimNonceAndTouch(
   *   id, nonce, 120_000, Date.now(), 3_600_000, undefined,
   * );
   * ```
   */
  async claimNonceAndTouch(
    id: string,
    nonce: string,
    nonceTtl: number,
    now: number,
    idleTimeout: number,
    maxLifetime: number | undefined,
  ): Promise<{ session: Session | undefined; nonceFresh: boolean }> {
    if (!(await this.claimNonce(id, nonce, nonceTtl, now))) {
      return { session: undefined, nonceFresh: false };
    }
    return { session: await this.touch(id, now, idleTimeout, maxLifetime), nonceFresh: true };
  }

  /**
   * `claimNonceAndTouch`, answered without a Promise, by a store that also has
   * {@link getNow}; claim and slide happen in one synchronous step.
   *
   * @param id session id, already checked to be a UUID; also the nonce's scope
   * @param nonce the request's nonce
   * @param nonceTtl how long the claim lasts (ms)
   * @param now the current time (ms)
   * @param idleTimeout sliding idle timeout (ms)
   * @param maxLifetime absolute lifetime cap (ms), or `undefined` for none
   * @returns what `claimNonceAndTouch` would resolve to
   * @example
   * ```ts
   * claimNonceAndTouchNow(id, nonce, nonceTtl, now, idleTimeout, maxLifetime) {
   *   if (!this.nonces.claim(id, nonce, nonceTtl, now)) {
   *     return { session: undefined, nonceFresh: false };
   *   }
   *   return { session: this.touchNow(id, now, idleTimeout, maxLifetime), nonceFresh: true };
   * }
   * ```
   */
  claimNonceAndTouchNow?(
    id: string,
    nonce: string,
    nonceTtl: number,
    now: number,
    idleTimeout: number,
    maxLifetime: number | undefined,
  ): { session: Session | undefined; nonceFresh: boolean };

  /**
   * Builds the rate limiter that counts requests in this store, so that a shared store gives a
   * shared budget. The default counts in process memory.
   *
   * @param options the module's `rateLimit` option
   */
  createRateLimiter(options: RateLimiterOptions): RateLimiter {
    return new RateLimiter(options);
  }

  /**
   * Releases what the store itself opened. A store never closes a client it was given.
   */
  async close(): Promise<void> {
    // Nothing to release by default.
  }
}
