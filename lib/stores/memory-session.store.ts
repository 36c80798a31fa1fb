import { performance } from 'node:perf_hooks';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { MeshSession } from '../session/mesh-session.js';
import type { Session } from '../session/session.interface.js';
import { SessionStore } from './session-store.interface.js';

/** Width of one expiry bucket (ms). */
const BUCKET_MS = 1_000;
/** How long cleanup may hold the event loop before it yields (ms). */
const SLICE_BUDGET_MS = 5;
/** How many entries cleanup handles between two clock reads. */
const SLICE_CHECK_EVERY = 256;

/**
 * A {@link SessionStore} in process memory: the default store.
 *
 * - Sessions are indexed by id and by service id.
 * - Expiry candidates sit in one-second time buckets, so cleanup only visits buckets whose time
 *   has come. A touch does not move a session between buckets; cleanup re-files a session it
 *   finds still alive, so each live session has exactly one bucket entry.
 * - Keys of removed sessions are overwritten with zeros.
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
  private readonly sessions = new Map<string, MeshSession>();
  private readonly byService = new Map<string, Set<MeshSession>>();
  private readonly buckets = new Map<number, MeshSession[]>();
  /** Min-heap of the keys of `buckets`. */
  private readonly bucketHeap: number[] = [];
  /** Claimed nonces and when each claim ends, in claim order. */
  private readonly nonces = new Map<string, number>();

  async create(session: Session): Promise<void> {
    if (this.sessions.has(session.id)) {
      throw new Error(`Session id collision: a session with this id already exists`);
    }
    const stored =
      session instanceof MeshSession
        ? session
        : new MeshSession(
            session.id,
            session.serviceId,
            session.sessionKey,
            session.createdAt,
            session.lastActivity,
            session.expiresAt,
            session.metadata,
          );
    this.sessions.set(stored.id, stored);
    let group = this.byService.get(stored.serviceId);
    if (group === undefined) {
      group = new Set();
      this.byService.set(stored.serviceId, group);
    }
    group.add(stored);
    this.file(stored);
  }

  async touch(
    id: string,
    now: number,
    idleTimeout: number,
    maxLifetime: number | undefined,
  ): Promise<Session | undefined> {
    const session = this.sessions.get(id);
    if (session === undefined) return undefined;
    if (session.expiresAt <= now) {
      this.remove(session);
      return session;
    }
    let expiresAt = now + idleTimeout;
    if (maxLifetime !== undefined && session.createdAt + maxLifetime < expiresAt) {
      expiresAt = session.createdAt + maxLifetime;
    }
    session.lastActivity = now;
    session.expiresAt = expiresAt;
    return session;
  }

  async get(id: string, now: number): Promise<Session | undefined> {
    const session = this.sessions.get(id);
    return session !== undefined && session.expiresAt > now ? session : undefined;
  }

  async updateMetadata(
    id: string,
    patch: Record<string, unknown>,
    now: number,
  ): Promise<Session | undefined> {
    const session = this.sessions.get(id);
    if (session === undefined || session.expiresAt <= now) return undefined;
    session.metadata = { ...session.metadata, ...patch };
    return session;
  }

  async delete(id: string): Promise<Session | undefined> {
    const session = this.sessions.get(id);
    if (session !== undefined) this.remove(session);
    return session;
  }

  async findByServiceId(serviceId: string, now: number): Promise<Session[]> {
    const group = this.byService.get(serviceId);
    const live: Session[] = [];
    if (group === undefined) return live;
    for (const session of group) {
      if (session.expiresAt > now) live.push(session);
    }
    return live;
  }

  async deleteByServiceId(serviceId: string): Promise<number> {
    const group = this.byService.get(serviceId);
    if (group === undefined) return 0;
    const removed = group.size;
    for (const session of [...group]) this.remove(session);
    return removed;
  }

  async deleteExpired(now: number): Promise<number> {
    const lastDueBucket = Math.floor(now / BUCKET_MS);
    const survivors: MeshSession[] = [];
    let removed = 0;
    let handled = 0;
    let sliceStart = performance.now();

    while (this.bucketHeap.length > 0 && this.bucketHeap[0] <= lastDueBucket) {
      const key = this.popBucketKey();
      const entries = this.buckets.get(key);
      this.buckets.delete(key);
      if (entries === undefined) continue;
      for (const session of entries) {
        // An entry may be stale: the session was invalidated, or already expired on access.
        if (this.sessions.get(session.id) === session) {
          if (session.expiresAt <= now) {
            this.remove(session);
            removed++;
          } else {
            survivors.push(session);
          }
        }
        if (
          ++handled % SLICE_CHECK_EVERY === 0 &&
          performance.now() - sliceStart > SLICE_BUDGET_MS
        ) {
          await yieldToEventLoop();
          sliceStart = performance.now();
        }
      }
    }
    // Re-filed after the loop: a survivor of the current bucket would otherwise be seen again.
    for (const session of survivors) {
      if (this.sessions.get(session.id) === session) this.file(session);
    }
    this.pruneNonces(now);
    return removed;
  }

  async count(): Promise<number> {
    return this.sessions.size;
  }

  async claimNonce(scope: string, nonce: string, ttl: number, now: number): Promise<boolean> {
    const key = `${scope}\u0000${nonce}`;
    const until = this.nonces.get(key);
    if (until !== undefined && until > now) return false;
    // Re-inserted, so that the map stays ordered by claim time for pruning.
    this.nonces.delete(key);
    this.nonces.set(key, now + ttl);
    this.pruneNonces(now, 8);
    return true;
  }

  private pruneNonces(now: number, limit = Infinity): void {
    let seen = 0;
    for (const [key, until] of this.nonces) {
      if (until > now || seen++ >= limit) break;
      this.nonces.delete(key);
    }
  }

  private remove(session: MeshSession): void {
    this.sessions.delete(session.id);
    const group = this.byService.get(session.serviceId);
    if (group !== undefined) {
      group.delete(session);
      if (group.size === 0) this.byService.delete(session.serviceId);
    }
    session.sessionKey.fill(0);
  }

  private file(session: MeshSession): void {
    const key = Math.floor(session.expiresAt / BUCKET_MS);
    const entries = this.buckets.get(key);
    if (entries === undefined) {
      this.buckets.set(key, [session]);
      this.pushBucketKey(key);
    } else {
      entries.push(session);
    }
  }

  private pushBucketKey(key: number): void {
    const heap = this.bucketHeap;
    let i = heap.push(key) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent] <= key) break;
      heap[i] = heap[parent];
      i = parent;
    }
    heap[i] = key;
  }

  private popBucketKey(): number {
    const heap = this.bucketHeap;
    const top = heap[0];
    const last = heap.pop() as number;
    if (heap.length > 0) {
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= heap.length) break;
        const right = left + 1;
        const child = right < heap.length && heap[right] < heap[left] ? right : left;
        if (heap[child] >= last) break;
        heap[i] = heap[child];
        i = child;
      }
      heap[i] = last;
    }
    return top;
  }
}
