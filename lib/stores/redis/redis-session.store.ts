import type { Cluster, Redis } from 'ioredis';
import { redactDumps } from '../../core/redacted.js';
import { SessionMessages } from '../../core/session.messages.js';
import type { RateLimiter, RateLimiterOptions } from '../../core/rate-limiter.js';
import { bindSessionKey, type MeshSession, releaseSessionKey } from '../../core/mesh-session.js';
import type { Session } from '../../core/session.interface.js';
import { SessionStore } from '../../core/session-store.js';
import { RedisConnection } from './redis-connection.js';
import { RedisKeyLayout } from './redis-key-layout.js';
import { RedisPartitionSweeper } from './redis-partition-sweeper.js';
import { RedisRateLimiter } from './redis-rate-limiter.js';
import { RedisSessionCipher } from './redis-session-cipher.js';
import { RedisSessionKeyVault } from './redis-session-key-vault.js';
import { RedisSessionRecord, type RecordReply, type TouchReply } from './redis-session-record.js';
import { RedisSessionScripts as Scripts } from './redis-session-scripts.js';
import { resolveRedisSessionStoreOptions } from './redis-session-store.options.js';
import type { RedisSessionStoreOptions } from './redis-session-store.options.js';
import { RedisUndecryptableLog } from './redis-undecryptable-log.js';

/** The key a session is built with before a vault takes over (binding wipes it: nothing here). */
const NO_KEY = Buffer.alloc(0);

/** What a script answers about one session: its record, or `null` when there is none. */
type Found = RecordReply | null;

/**
 * A {@link SessionStore} on Redis (a single server, a master found through Sentinel, or a
 * Cluster; ioredis 5 or 6), shared by every instance of a service: a session created through
 * one instance is valid on all of them, an invalidation is seen by all of them on their next
 * request, and the rate limit counts across them.
 *
 * - The guard's check is one `EVALSHA` round trip, atomic: it checks expiry against the stored
 *   times, then slides them, never past `maxSessionLifetime`.
 * - Every session key carries a Redis TTL that follows its `expiresAt`.
 * - The indexes (service id to sessions, and the per-partition expiry index whose size is the
 *   session count) change in the same script as the record, so they never disagree with it.
 * - Session keys are sealed with AES-256-GCM (the session id as associated data), session ids
 *   are sealed inside values and hashed in key names. A session the check slides (`touch`,
 *   `claimNonceAndTouch`) keeps its key sealed: it is decrypted when `sessionKey` is read, and
 *   each read decrypts afresh. A removed session's key reads as gone (the getter throws).
 * - When Redis is down or slower than `commandTimeout`, calls fail fast (the guard answers 503),
 *   and traffic resumes by itself when Redis is back. With Sentinel, a client the store created
 *   moves to the new master as soon as the sentinels announce a failover.
 * - On a client it creates, scripts issued while others wait for their replies go out together,
 *   in one socket write, at the end of the event-loop turn (or once those replies are in, if
 *   sooner); a script issued alone goes out at once. A client given as `client` is used as
 *   configured: create it with `enableAutoPipelining: true` for a similar saving.
 *
 * It logs connection changes and sessions it cannot decrypt through the logger given to
 * `useLogger` (`MeshSessionModule` gives it Nest's), or else the console. docs/redis-store.md
 * documents the key layout.
 *
 * @example
 * ```ts
 * import { RedisSessionStore } from 'nestjs-mesh-session/redis';
 *
 * MeshSessionModule.forRoot({
 *   store: new RedisSessionStore({
 *     url: process.env.REDIS_URL,
 *     encryptionKeys: [Buffer.from(process.env.MESH_STORE_KEY, 'base64')],
 *   }),
 *   rateLimit: { maxRequests: 100, windowMs: 60_000 }, // counted in Redis
 * });
 * ```
 */
export class RedisSessionStore extends SessionStore {
  /** Redis calls, time limits and the client's lifecycle. */
  protected readonly connection: RedisConnection;
  /** Key names. */
  protected readonly keys: RedisKeyLayout;
  /** Seals session keys and ids. */
  protected readonly cipher: RedisSessionCipher;
  private readonly sweeper: RedisPartitionSweeper;
  private readonly record = new RedisSessionRecord();
  private readonly undecryptable = new RedisUndecryptableLog(() => this.logger);

  /**
   * @param options where Redis is (exactly one of `client`, `url`, `redisOptions`) and the
   *   encryption keys
   * @throws {Error} naming the first bad or unknown option, or saying to install ioredis when the
   *   store must create a client and ioredis is missing
   */
  constructor(options: RedisSessionStoreOptions) {
    super();
    const resolved = resolveRedisSessionStoreOptions(options);
    this.keys = new RedisKeyLayout(resolved.keyPrefix);
    this.cipher = new RedisSessionCipher(resolved.encryptionKeys);
    this.connection = new RedisConnection(resolved, () => this.logger);
    this.sweeper = new RedisPartitionSweeper(this.connection, this.keys);
  }

  /** The ioredis client the store uses: the one given, or the one it created. */
  get client(): Redis | Cluster {
    return this.connection.client;
  }

  static {
    // Redacted dump forms: no key material in any dump.
    redactDumps(this, (self) => ({
      keyPrefix: self.keys.prefix,
      status: self.connection.client.status,
    }));
  }

  override get telemetryKind(): string {
    return 'redis';
  }

  async create(session: Session): Promise<void> {
    const { hid, base, record, index } = this.keys.session(session.id);
    const serviceHash = this.keys.serviceHash(session.serviceId);
    const fields = RedisSessionRecord.encode(session, hid, serviceHash, this.cipher);
    const ttl = Math.max(1, session.expiresAt - session.lastActivity);
    const created = await this.connection.run<number>(
      Scripts.create,
      [record, index, this.keys.serviceIndex(base, serviceHash)],
      [hid, hid + serviceHash, session.expiresAt, ttl, ...fields],
    );
    if (created !== 1) throw new Error(SessionMessages.sessionIdCollision());
  }

  async touch(
    id: string,
    now: number,
    idleTimeout: number,
    maxLifetime: number | undefined,
  ): Promise<Session | undefined> {
    const { hid, record, index } = this.keys.session(id);
    const reply = await this.connection.run<TouchReply | null>(
      Scripts.touch,
      [record, index],
      [now, idleTimeout, maxLifetime ?? '', hid],
    );
    return reply === null ? undefined : this.slidSession(reply, 0, id, now);
  }

  async get(id: string, now: number): Promise<Session | undefined> {
    const { hid, record } = this.keys.session(id);
    const fields = await this.connection.run<Found>(Scripts.get, [record], [now]);
    return fields === null ? undefined : this.toSession(fields, id, hid, true);
  }

  /**
   * Claims the nonce and, when it was fresh, slides the session: one `EVALSHA`, atomic. The
   * nonce key lives in the session's partition (same hash tag), so the script touches one
   * Cluster slot.
   */
  override async claimNonceAndTouch(
    id: string,
    nonce: string,
    ttl: number,
    now: number,
    idleTimeout: number,
    maxLifetime: number | undefined,
  ): Promise<{ session: Session | undefined; nonceFresh: boolean }> {
    const { hid, record, index } = this.keys.session(id);
    const reply = await this.connection.run<[0] | [1] | [1, ...TouchReply]>(
      Scripts.claimNonceAndTouch,
      [record, index, this.keys.nonce(id, nonce)],
      [now, idleTimeout, maxLifetime ?? '', hid, nonceTtl(ttl)],
    );
    if (reply[0] === 0) return { session: undefined, nonceFresh: false };
    if (reply.length === 1) return { session: undefined, nonceFresh: true };
    return { session: this.slidSession(reply, 1, id, now), nonceFresh: true };
  }

  async updateMetadata(
    id: string,
    patch: Record<string, unknown>,
    now: number,
  ): Promise<Session | undefined> {
    const { hid, record } = this.keys.session(id);
    const args: (string | number)[] = [now];
    RedisSessionRecord.pushMetadata(args, patch);
    const fields = await this.connection.run<Found>(Scripts.updateMetadata, [record], args);
    return fields === null ? undefined : this.toSession(fields, id, hid, true);
  }

  async delete(id: string): Promise<Session | undefined> {
    const { hid, record, index } = this.keys.session(id);
    const fields = await this.connection.run<Found>(Scripts.delete, [record, index], [hid]);
    return fields === null ? undefined : this.toSession(fields, id, hid, false);
  }

  async findByServiceId(serviceId: string, now: number): Promise<Session[]> {
    return this.sweeper.findService(serviceId, now, (fields, hid) =>
      this.toSession(fields, undefined, hid, true),
    );
  }

  async deleteByServiceId(serviceId: string): Promise<number> {
    return this.sweeper.deleteService(serviceId);
  }

  /**
   * Prunes the expiry indexes: every entry due by `now` goes, with what is left of its record
   * (Redis has usually dropped it already through its TTL) and its service-index entry, unless
   * the session was slid since it was filed: then it is re-filed under its new expiry. It
   * works in batches of 256 entries, one script call each, a few partitions at a time, so
   * neither Redis nor the event loop is held for long. Instances may run it at the same time:
   * each entry is counted by the one call that removed it.
   */
  async deleteExpired(now: number): Promise<number> {
    return this.sweeper.deleteExpired(now);
  }

  /**
   * How many live sessions the store holds, from the expiry indexes: one script call per
   * partition (more only when many entries came due since the last count or cleanup). Each call
   * files the entries due by `now` as cleanup would, without removing anything (a slid session
   * under its current expiry, an expired one under score 0, where later counts skip it and
   * cleanup still finds it), then counts the entries scored after `now` (`ZCOUNT`).
   */
  async count(now: number = Date.now()): Promise<number> {
    return this.sweeper.count(now);
  }

  async claimNonce(scope: string, nonce: string, ttl: number, _now: number): Promise<boolean> {
    const key = this.keys.nonce(scope, nonce);
    const reply = await this.connection.call('claimNonce', (client) =>
      client.set(key, '1', 'PX', nonceTtl(ttl), 'NX'),
    );
    return reply === 'OK';
  }

  /**
   * A rate limiter that counts in Redis (rate-limiter-flexible's `RateLimiterRedis`, on the
   * store's client), so every instance shares one budget per service.
   */
  override createRateLimiter(options: RateLimiterOptions): RateLimiter {
    return RedisRateLimiter.onConnection(options, this.connection, this.keys.rateLimitPrefix);
  }

  /** Closes the client if the store created it; a given client stays open. */
  override async close(): Promise<void> {
    await this.connection.close();
  }

  /**
   * Builds a session from a stored record, its key decrypted now.
   *
   * @param fields the record
   * @param id the session id when known; otherwise it is decrypted from the record
   * @param hid the hashed id
   * @param live whether the session is still stored; a removed one gets no key (reading it
   *   throws, as for a session removed from the memory store)
   * @param now when set, the session was just slid: `lastActivity` is `now`
   * @param expiresAt when set, overrides the stored `expiresAt`
   * @returns the session, or `undefined` when it cannot be decrypted (logged)
   */
  protected toSession(
    fields: RecordReply,
    id: string | undefined,
    hid: string,
    live: boolean,
    now?: number,
    expiresAt?: number,
  ): MeshSession | undefined {
    const r = this.record.read(fields);
    let sessionKey: Buffer;
    try {
      id ??= this.cipher.decrypt(r.sealedId, hid).toString();
      if (!live) return this.removedSession(id, r, expiresAt ?? r.expiresAt);
      sessionKey = this.cipher.decrypt(r.sealedKey, id);
    } catch (error) {
      this.undecryptable.report(error);
      return undefined;
    }
    return r.session(id, sessionKey, now ?? r.lastActivity, expiresAt ?? r.expiresAt);
  }

  /**
   * The session a `touch` reply describes: slid, with its key still sealed (decrypted when
   * `sessionKey` is read), or removed as expired (no key).
   *
   * @param reply the script's reply
   * @param at where the {@link TouchReply} starts in it
   */
  private slidSession(
    reply: TouchReply | [1, ...TouchReply],
    at: number,
    id: string,
    now: number,
  ): MeshSession | undefined {
    const r = this.record.readSlide(reply, at);
    // Like the memory store: an expired session is removed and handed back, without its key.
    if (reply[at] === 0) return this.removedSession(id, r, r.expiresAt);
    try {
      // A key that was rotated out reads as absent here, as when the key is decrypted at once;
      // the value's authenticity is checked when it is decrypted.
      this.cipher.check(r.sealedKey);
    } catch (error) {
      this.undecryptable.report(error);
      return undefined;
    }
    const { sealedKey } = r;
    const session = r.session(id, NO_KEY, now, r.expiresAt);
    bindSessionKey(session, new RedisSessionKeyVault(this.cipher, sealedKey, id), 0);
    return session;
  }

  /** A session just removed from Redis: no key. */
  private removedSession(id: string, stored: RedisSessionRecord, expiresAt: number): MeshSession {
    const session = stored.session(id, NO_KEY, stored.lastActivity, expiresAt);
    // Released at once: a read of its key throws.
    releaseSessionKey(session);
    return session;
  }
}

/** `PX` takes a positive integer. */
function nonceTtl(ttl: number): number {
  return Math.max(1, Math.ceil(ttl));
}
