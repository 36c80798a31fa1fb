import type { Cluster, Redis } from 'ioredis';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { SessionMessages } from '../../core/session.messages.js';
import { RedisStoreMessages } from './redis-store.messages.js';
import { RateLimiter, type RateLimiterOptions } from '../../core/rate-limiter.js';
import { bindSessionKey, MeshSession, releaseSessionKey } from '../../core/mesh-session.js';
import type { Session } from '../../core/session.interface.js';
import { RedisConnection } from './redis-connection.js';
import { RedisKeyLayout } from './redis-key-layout.js';
import { RedisRateLimiter } from './redis-rate-limiter.js';
import { RedisSessionCipher } from './redis-session-cipher.js';
import { RedisSessionKeyVault } from './redis-session-key-vault.js';
import { RedisSessionScripts as Scripts } from './redis-session-scripts.js';
import {
  resolveRedisSessionStoreOptions,
  type RedisSessionStoreOptions,
} from './redis-session-store.options.js';
import { SessionStore } from '../../core/session-store.js';

/** A record as a script returns it: HGETALL's flat field/value list. */
type RecordReply = string[];
/**
 * A slide as a script returns it: live (1 when slid, 0 when removed as expired), expiresAt,
 * then the stored serviceId, sealed key, createdAt and lastActivity, and the whole record only
 * when the session has metadata.
 */
type TouchReply = [0 | 1, string, string, string, string, string, RecordReply?];

/** Index entries handled per script call: small enough to keep each call well under 1 ms. */
const BATCH = 256;
/** Gap between two "cannot decrypt" log lines (ms). */
const UNDECRYPTABLE_LOG_EVERY_MS = 10_000;
/** The key a session is built with before a vault takes over (binding wipes it: nothing here). */
const NO_KEY = Buffer.alloc(0);

/** A record's fields, parsed; one per store, filled and read synchronously. */
interface ParsedRecord {
  serviceId: string;
  sealedKey: string;
  sealedId: string;
  createdAt: number;
  lastActivity: number;
  expiresAt: number;
  metadata: Record<string, unknown> | undefined;
}

/**
 * A {@link SessionStore} on Redis, a single server or a Cluster, shared by every instance of a
 * service: a session created through one instance is valid on all of them, an invalidation is
 * seen by all of them on their next request, and the rate limit counts across them.
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
 *   and traffic resumes by itself when Redis is back.
 * - On a client it creates, scripts issued while others wait for their replies go out together,
 *   in one socket write, once those replies are in; a script issued alone goes out at once. A
 *   client given as `client` is used as configured: create it with `enableAutoPipelining: true`
 *   for a similar saving.
 *
 * The README's "Redis store" section documents the key layout.
 *
 * @example
 * ```ts
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
  private readonly parsed: ParsedRecord = {
    serviceId: '',
    sealedKey: '',
    sealedId: '',
    createdAt: 0,
    lastActivity: 0,
    expiresAt: 0,
    metadata: undefined,
  };
  private undecryptable = 0;
  private undecryptableLoggedAt = -Infinity;

  /**
   * @param options where Redis is (exactly one of `client`, `url`, `redisOptions`) and the
   *   encryption keys
   * @throws {Error} naming the first bad option, or saying to install ioredis when the store
   *   must create a client and ioredis is missing
   */
  constructor(options: RedisSessionStoreOptions) {
    super();
    const resolved = resolveRedisSessionStoreOptions(options);
    this.keys = new RedisKeyLayout(resolved.keyPrefix);
    this.cipher = new RedisSessionCipher(resolved.encryptionKeys);
    this.connection = new RedisConnection(resolved);
  }

  /** The ioredis client the store uses: the one given, or the one it created. */
  get client(): Redis | Cluster {
    return this.connection.client;
  }

  async create(session: Session): Promise<void> {
    const { hid, base, record, index } = this.keys.session(session.id);
    const serviceHash = this.keys.serviceHash(session.serviceId);
    // A copy of its own, wiped once sealed: a plain Session hands over its caller's Buffer, which
    // must stay as it was.
    const key = Buffer.from(session.sessionKey);
    let sealedKey: string;
    try {
      sealedKey = this.cipher.encrypt(key, session.id);
    } finally {
      key.fill(0);
    }
    const fields: string[] = [
      'v',
      session.serviceId,
      'w',
      serviceHash,
      'k',
      sealedKey,
      'i',
      this.cipher.encrypt(Buffer.from(session.id), hid),
      'c',
      String(session.createdAt),
      'l',
      String(session.lastActivity),
      'e',
      String(session.expiresAt),
    ];
    if (session.metadata !== undefined) {
      fields.push('m', '1');
      pushMetadata(fields, session.metadata);
    }
    const created = await this.connection.run<number>(
      Scripts.create,
      [record, index, this.keys.serviceIndex(base, serviceHash)],
      [
        hid,
        hid + serviceHash,
        session.expiresAt,
        Math.max(1, session.expiresAt - session.lastActivity),
        ...fields,
      ],
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
    const fields = await this.connection.run<RecordReply | null>(Scripts.get, [record], [now]);
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
    pushMetadata(args, patch);
    const fields = await this.connection.run<RecordReply | null>(
      Scripts.updateMetadata,
      [record],
      args,
    );
    return fields === null ? undefined : this.toSession(fields, id, hid, true);
  }

  async delete(id: string): Promise<Session | undefined> {
    const { hid, record, index } = this.keys.session(id);
    const fields = await this.connection.run<RecordReply | null>(
      Scripts.delete,
      [record, index],
      [hid],
    );
    return fields === null ? undefined : this.toSession(fields, id, hid, false);
  }

  async findByServiceId(serviceId: string, now: number): Promise<Session[]> {
    const serviceHash = this.keys.serviceHash(serviceId);
    const perPartition = await Promise.all(
      this.keys.partitions.map(async (base) => {
        const found: Session[] = [];
        const seen = new Set<string>();
        const keys = [this.keys.serviceIndex(base, serviceHash), this.keys.index(base)];
        let cursor = '0';
        do {
          const reply = await this.connection.run<[string, ...(string | RecordReply)[]]>(
            Scripts.findService,
            keys,
            [now, cursor, BATCH],
          );
          cursor = reply[0];
          for (let i = 1; i < reply.length; i += 2) {
            const hid = reply[i] as string;
            // SSCAN may return a member twice.
            if (seen.has(hid)) continue;
            seen.add(hid);
            const session = this.toSession(reply[i + 1] as RecordReply, undefined, hid, true);
            if (session !== undefined && session.serviceId === serviceId) found.push(session);
          }
        } while (cursor !== '0');
        return found;
      }),
    );
    return perPartition.flat();
  }

  async deleteByServiceId(serviceId: string): Promise<number> {
    const serviceHash = this.keys.serviceHash(serviceId);
    const removed = await Promise.all(
      this.keys.partitions.map(async (base) => {
        const keys = [this.keys.serviceIndex(base, serviceHash), this.keys.index(base)];
        let total = 0;
        let popped: number;
        do {
          let removedNow: number;
          [removedNow, popped] = await this.connection.run<[number, number]>(
            Scripts.deleteService,
            keys,
            [serviceHash, BATCH],
          );
          total += removedNow;
        } while (popped === BATCH);
        return total;
      }),
    );
    return removed.reduce((sum, n) => sum + n, 0);
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
    const partitions = [...this.keys.partitions];
    let removed = 0;
    const worker = async (): Promise<void> => {
      for (let base = partitions.pop(); base !== undefined; base = partitions.pop()) {
        const index = this.keys.index(base);
        let visited: number;
        do {
          let removedNow: number;
          [removedNow, visited] = await this.connection.run<[number, number]>(
            Scripts.deleteExpired,
            [index],
            [now, BATCH],
          );
          removed += removedNow;
        } while (visited === BATCH);
      }
    };
    // A few partitions in parallel: on a Cluster they sit on different masters.
    await Promise.all(Array.from({ length: 4 }, worker));
    return removed;
  }

  /**
   * How many sessions the store holds: the sizes of the expiry indexes. Like the memory store,
   * it includes sessions that expired since the last cleanup.
   */
  async count(): Promise<number> {
    const sizes = await Promise.all(
      this.keys.partitions.map((base) =>
        this.connection.call('count', (client) => client.zcard(this.keys.index(base))),
      ),
    );
    return sizes.reduce((sum, n) => sum + n, 0);
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
    return new RedisRateLimiter(
      options,
      new RateLimiterRedis({
        storeClient: this.connection.client,
        keyPrefix: this.keys.rateLimitPrefix,
        // Fail at once while disconnected: the guard answers 503.
        rejectIfRedisNotReady: true,
        ...RateLimiter.toFlexibleOptions(options),
      }),
      this.connection,
    );
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
    const r = this.parse(fields);
    let sessionKey: Buffer;
    try {
      id ??= this.cipher.decrypt(r.sealedId, hid).toString();
      if (!live) {
        return this.removedSession(
          id,
          r.serviceId,
          r.createdAt,
          r.lastActivity,
          expiresAt ?? r.expiresAt,
          r.metadata,
        );
      }
      sessionKey = this.cipher.decrypt(r.sealedKey, id);
    } catch (error) {
      this.reportUndecryptable(error);
      return undefined;
    }
    return new MeshSession(
      id,
      r.serviceId,
      sessionKey,
      r.createdAt,
      now ?? r.lastActivity,
      expiresAt ?? r.expiresAt,
      r.metadata,
    );
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
    const serviceId = reply[at + 2] as string;
    const sealedKey = reply[at + 3] as string;
    const createdAt = Number(reply[at + 4]);
    const expiresAt = Number(reply[at + 1]);
    const record = reply[at + 6] as RecordReply | undefined;
    const metadata = record === undefined ? undefined : this.parse(record).metadata;
    // Like the memory store: an expired session is removed and handed back, without its key.
    if (reply[at] === 0) {
      const lastActivity = Number(reply[at + 5]);
      return this.removedSession(id, serviceId, createdAt, lastActivity, expiresAt, metadata);
    }
    try {
      // A key that was rotated out reads as absent here, as when the key is decrypted at once;
      // the value's authenticity is checked when it is decrypted.
      this.cipher.check(sealedKey);
    } catch (error) {
      this.reportUndecryptable(error);
      return undefined;
    }
    const session = new MeshSession(id, serviceId, NO_KEY, createdAt, now, expiresAt, metadata);
    bindSessionKey(session, new RedisSessionKeyVault(this.cipher, sealedKey, id), 0);
    return session;
  }

  /** A session just removed from Redis: no key. */
  private removedSession(
    id: string,
    serviceId: string,
    createdAt: number,
    lastActivity: number,
    expiresAt: number,
    metadata: Record<string, unknown> | undefined,
  ): MeshSession {
    const session = new MeshSession(
      id,
      serviceId,
      NO_KEY,
      createdAt,
      lastActivity,
      expiresAt,
      metadata,
    );
    // Released at once: a read of its key throws.
    releaseSessionKey(session);
    return session;
  }

  /** Reads a record's fields into {@link parsed}, which is valid until the next call. */
  private parse(fields: RecordReply): ParsedRecord {
    const r = this.parsed;
    r.serviceId = '';
    r.sealedKey = '';
    r.sealedId = '';
    r.createdAt = 0;
    r.lastActivity = 0;
    r.expiresAt = 0;
    r.metadata = undefined;
    for (let i = 0; i < fields.length; i += 2) {
      const name = fields[i];
      const value = fields[i + 1];
      // One-letter names are the fixed fields; longer ones are metadata entries.
      if (name.length === 1) {
        switch (name) {
          case 'v':
            r.serviceId = value;
            break;
          case 'k':
            r.sealedKey = value;
            break;
          case 'i':
            r.sealedId = value;
            break;
          case 'c':
            r.createdAt = Number(value);
            break;
          case 'l':
            r.lastActivity = Number(value);
            break;
          case 'e':
            r.expiresAt = Number(value);
            break;
          case 'm':
            r.metadata ??= {};
            break;
        }
      } else if (name.startsWith('m.') && name !== 'm.__proto__') {
        r.metadata ??= {};
        r.metadata[name.slice(2)] = JSON.parse(value) as unknown;
      }
    }
    return r;
  }

  private reportUndecryptable(error: unknown): void {
    this.undecryptable++;
    const at = performance.now();
    if (at - this.undecryptableLoggedAt < UNDECRYPTABLE_LOG_EVERY_MS) return;
    this.undecryptableLoggedAt = at;
    this.logger.warn(
      RedisStoreMessages.sessionUndecryptable(
        error instanceof Error ? error.message : String(error),
        this.undecryptable,
      ),
    );
    this.undecryptable = 0;
  }
}

/** Appends metadata as `m.<name>`, JSON pairs: one hash field per entry merges shallowly. */
function pushMetadata(out: (string | number)[], metadata: Record<string, unknown>): void {
  for (const name of Object.keys(metadata)) out.push(`m.${name}`, JSON.stringify(metadata[name]));
}

/** `PX` takes a positive integer. */
function nonceTtl(ttl: number): number {
  return Math.max(1, Math.ceil(ttl));
}
