import {
  bindSessionKey,
  MeshSession,
  releaseSessionKey,
  replaceSessionMetadata,
  sessionKeyBuffer,
  sessionKeySlot,
} from '../../core/mesh-session.js';
import { redactDumps } from '../../core/redacted.js';
import type { Session } from '../../core/session.interface.js';
import { SessionStore } from '../../core/session-store.js';
import { ExpiryBuckets } from './expiry-buckets.js';
import type { SweepRemoval } from './expiry-walk.js';
import { NonceSet } from './nonce-set.js';
import { ServiceIndex } from './service-index.js';
import { SessionIdTable } from './session-id-table.js';
import { SessionSlab } from './session-slab.js';

/**
 * A {@link SessionStore} in process memory: the default store.
 *
 * - Sessions are indexed by id in an open-addressing table keyed by the id's 128 bits, so that a
 *   lookup reads one table entry and the session, and by service id.
 * - Keys and times live in one slab of 64-byte slots, not in a Buffer and three boxed numbers
 *   per session: a check and its slide touch one cache line. A session reads its key and times
 *   through its slot. A removed session's slot is wiped, and the session gives up the slot (it
 *   keeps its last times) before the slot can be reused, so a stale session object never reads
 *   another session's key.
 * - Sessions sit in one-second time buckets by expiry, linked through the slab's slots, so
 *   cleanup only visits buckets whose time has come, and reads each candidate's expiry straight
 *   from the slab. A touch moves a session to a later bucket once its bucket would come due
 *   within half its remaining life, so cleanup meets sessions in use only rarely, and its cost
 *   follows the sessions that expired. `count()` visits the due buckets the same way, so that
 *   it counts live sessions only, without a scan.
 * - Cleanup and `count()` work in slices of a few milliseconds and yield to the event loop
 *   between them; no step copies or grows a structure as large as the store.
 * - The slab is a private field, and `util.inspect`, `console.log`, Nest's `Logger` and
 *   `JSON.stringify` show only the session count: no dump of the store shows a key.
 *
 * Sessions are not shared between processes: use a shared store when a service runs several
 * instances.
 *
 * @example
 * ```ts
 * MeshSessionModule.forRoot({ store: new MemorySessionStore() });
 * ```
 */
export class MemorySessionStore extends SessionStore {
  /** Sessions by id, with their slab slots. */
  private readonly ids = new SessionIdTable();
  /** Keys and times. */
  readonly #slab = new SessionSlab();
  private readonly services = new ServiceIndex(this.#slab);
  private readonly expiry = new ExpiryBuckets(this.#slab);
  private readonly nonces = new NonceSet();
  /**
   * The session the last `getNow` found, for the touch that follows: a signed request reads its
   * session, checks the HMAC, then claims the nonce and slides the session by its id, and this
   * spares that second lookup. The next touch drops it whatever its id (and uses it only for its
   * own), and any removal drops it, so it never stands for a session the store no longer holds.
   */
  private lastRead: MeshSession | undefined = undefined;
  /** Takes an expired or invalidated session out of the store; handed to the indexes. */
  private readonly removeSession = (session: MeshSession): void => this.remove(session);
  /** How a sweep removes sessions: {@link remove}, with the batch's memory read first. */
  private readonly sweepRemoval: SweepRemoval = {
    remove: this.removeSession,
    preload: (slots, count) => {
      let read = 0;
      for (let k = 0; k < count; k++) {
        const slot = slots[k];
        read ^= this.#slab.preload(slot) ^ this.ids.preload(slot) ^ this.services.preload(slot);
      }
      return read;
    },
  };

  static {
    // Keeps the keys out of `console.log`, `util.inspect` and Nest's `Logger`.
    redactDumps(this, (self) => ({ sessions: self.ids.size }));
  }

  override get telemetryKind(): string {
    return 'memory';
  }

  async create(session: Session): Promise<void> {
    this.add(session);
  }

  override createNow(session: Session): void {
    this.add(session);
  }

  async touch(
    id: string,
    now: number,
    idleTimeout: number,
    maxLifetime: number | undefined,
  ): Promise<Session | undefined> {
    return this.touchNow(id, now, idleTimeout, maxLifetime);
  }

  async get(id: string, now: number): Promise<Session | undefined> {
    return this.getNow(id, now);
  }

  override getNow(id: string, now: number): MeshSession | undefined {
    const session = this.ids.find(id);
    if (session === undefined) return undefined;
    this.lastRead = session;
    return session.expiresAt > now ? session : undefined;
  }

  async updateMetadata(
    id: string,
    patch: Record<string, unknown>,
    now: number,
  ): Promise<Session | undefined> {
    const session = this.ids.find(id);
    if (session === undefined || session.expiresAt <= now) return undefined;
    replaceSessionMetadata(session, Object.freeze({ ...session.metadata, ...patch }));
    return session;
  }

  async delete(id: string): Promise<Session | undefined> {
    const session = this.ids.find(id);
    if (session !== undefined) this.remove(session);
    return session;
  }

  async findByServiceId(serviceId: string, now: number): Promise<Session[]> {
    return this.services.find(serviceId, now);
  }

  override async findLatestByServiceId(
    serviceId: string,
    now: number,
  ): Promise<Session | undefined> {
    return this.services.latest(serviceId, now);
  }

  async deleteByServiceId(serviceId: string): Promise<number> {
    return this.services.deleteAll(serviceId, this.removeSession);
  }

  async deleteExpired(now: number): Promise<number> {
    const removed = await this.expiry.sweep(now, this.sweepRemoval);
    this.nonces.prune(now);
    return removed;
  }

  /**
   * The live sessions: those held, less those a look at the due expiry buckets finds expired
   * (see {@link ExpiryBuckets.countExpired}); no scan of the sessions.
   */
  async count(now: number = Date.now()): Promise<number> {
    const expired = await this.expiry.countExpired(now);
    // Read after the count: a sweep may have removed sessions while it yielded.
    return this.ids.size - expired;
  }

  async claimNonce(scope: string, nonce: string, ttl: number, now: number): Promise<boolean> {
    return this.nonces.claim(scope, nonce, ttl, now);
  }

  override async claimNonceAndTouch(
    id: string,
    nonce: string,
    nonceTtl: number,
    now: number,
    idleTimeout: number,
    maxLifetime: number | undefined,
  ): Promise<{ session: Session | undefined; nonceFresh: boolean }> {
    return this.claimNonceAndTouchNow(id, nonce, nonceTtl, now, idleTimeout, maxLifetime);
  }

  override claimNonceAndTouchNow(
    id: string,
    nonce: string,
    nonceTtl: number,
    now: number,
    idleTimeout: number,
    maxLifetime: number | undefined,
  ): { session: MeshSession | undefined; nonceFresh: boolean } {
    // One synchronous step: nothing can run between the claim and the slide.
    if (!this.nonces.claim(id, nonce, nonceTtl, now)) {
      return { session: undefined, nonceFresh: false };
    }
    return { session: this.touchNow(id, now, idleTimeout, maxLifetime), nonceFresh: true };
  }

  override touchNow(
    id: string,
    now: number,
    idleTimeout: number,
    maxLifetime: number | undefined,
  ): MeshSession | undefined {
    const kept = this.lastRead;
    this.lastRead = undefined;
    const session = kept !== undefined && kept.id === id ? kept : this.ids.find(id);
    if (session === undefined) return undefined;
    const slot = session === kept ? sessionKeySlot(session) : this.ids.foundSlot;
    // The times sit in the slab next to the key: the check and the slide touch one cache line.
    if (this.#slab.slide(slot, now, idleTimeout, maxLifetime)) this.expiry.slid(slot, now);
    else this.remove(session);
    return session;
  }

  private add(input: Session): void {
    // Throws on a taken id before anything is stored.
    const entry = this.ids.reserve(input.id);
    const session = this.adopt(input);
    // The session's own Buffer is copied into the slab, then wiped by bindSessionKey: reading
    // it through the `sessionKey` getter would make one more copy.
    const slot = this.#slab.store(sessionKeyBuffer(session) ?? session.sessionKey, session);
    bindSessionKey(session, this.#slab, slot);
    this.services.add(session, slot);
    this.ids.insert(entry, session, slot);
    this.expiry.file(slot);
  }

  /**
   * The session object to store for `input`: `input` itself unless another store already holds
   * it, or it is not a MeshSession; then this store keeps its own object, with its own copy of
   * the key, so that each object belongs to one store and no caller's Buffer is wiped.
   */
  private adopt(input: Session): MeshSession {
    if (input instanceof MeshSession && sessionKeySlot(input) === -1) return input;
    return new MeshSession(
      input.id,
      input.serviceId,
      Buffer.from(input.sessionKey),
      input.createdAt,
      input.lastActivity,
      input.expiresAt,
      input.metadata,
    );
  }

  private remove(session: MeshSession): void {
    this.lastRead = undefined;
    const slot = sessionKeySlot(session);
    if (slot === -1) return;
    this.ids.delete(session, slot);
    this.services.delete(slot);
    this.expiry.forget(slot);
    // The session gives up its slot before the slot is wiped and can be reused.
    releaseSessionKey(session);
    this.#slab.release(slot);
  }
}
