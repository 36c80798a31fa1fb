import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { SESSION_KEY_LENGTH } from '../../core/session.constants.js';
import {
  bindSessionKey,
  MeshSession,
  releaseSessionKey,
  replaceSessionMetadata,
  sessionKeyBuffer,
  sessionKeySlot,
  TIMES_OFFSET,
  TIMES_STRIDE,
  type SessionKeyVault,
} from '../../core/mesh-session.js';
import type { Session } from '../../core/session.interface.js';
import { SessionStore } from '../../core/session-store.js';

/** Width of one expiry bucket (ms). */
const BUCKET_MS = 1_000;
/** How long cleanup may hold the event loop before it yields (ms). */
const SLICE_BUDGET_MS = 3;
/** How many entries cleanup handles between two clock reads. */
const SLICE_CHECK_EVERY = 128;
/** Smallest capacity of the id table (entries; a power of two). */
const MIN_TABLE_CAPACITY = 1 << 10;
/** Smallest capacity of the slab (sessions). */
const MIN_SLAB_SLOTS = 1 << 10;
/** Bytes per slab slot: the key, then the three times, in one 64-byte cache line. */
const SLOT_BYTES = TIMES_STRIDE * 8;
/** Int32 words per id-table entry: the id's four words, then the session's slab slot. */
const ENTRY_WORDS = 5;
const COLLISION = 'Session id collision: a session with this id already exists';

/** Value of each lower-case hex digit by character code; -1 for anything else. */
const HEX_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < 10; i++) HEX_VALUE[48 + i] = i;
for (let i = 0; i < 6; i++) HEX_VALUE[97 + i] = 10 + i;

/**
 * The keys and times of a store's sessions, one 64-byte slot each: the 32-byte key, then
 * `createdAt`, `lastActivity` and `expiresAt`. Sessions read their key and times here through
 * their slot; the slab itself is never handed out.
 */
class SessionSlab implements SessionKeyVault {
  /** The slots, as bytes. */
  bytes = Buffer.alloc(MIN_SLAB_SLOTS * SLOT_BYTES);
  /** The same memory, as float64 (the times). */
  times = new Float64Array(this.bytes.buffer, this.bytes.byteOffset, MIN_SLAB_SLOTS * TIMES_STRIDE);
  private capacity = MIN_SLAB_SLOTS;
  /** Slots below this mark have been handed out at least once. */
  private mark = 0;
  /** Slots given back, for reuse. */
  private free = new Int32Array(MIN_SLAB_SLOTS);
  private freeCount = 0;

  /**
   * A copy of the key in `slot`, in a Buffer with memory of its own (not a pooled one, whose
   * ArrayBuffer other data shares).
   */
  copyKey(slot: number): Buffer {
    const key = Buffer.allocUnsafeSlow(SESSION_KEY_LENGTH);
    const start = slot * SLOT_BYTES;
    this.bytes.copy(key, 0, start, start + SESSION_KEY_LENGTH);
    return key;
  }

  /** A free slot. */
  take(): number {
    if (this.freeCount > 0) return this.free[--this.freeCount];
    if (this.mark === this.capacity) this.grow();
    return this.mark++;
  }

  /** Wipes a slot and gives it back. */
  release(slot: number): void {
    this.bytes.fill(0, slot * SLOT_BYTES, (slot + 1) * SLOT_BYTES);
    this.free[this.freeCount++] = slot;
  }

  private grow(): void {
    const capacity = this.capacity * 2;
    const bytes = Buffer.alloc(capacity * SLOT_BYTES);
    this.bytes.copy(bytes);
    // The old memory held keys: wipe it before letting it go.
    this.bytes.fill(0);
    this.bytes = bytes;
    this.times = new Float64Array(bytes.buffer, bytes.byteOffset, capacity * TIMES_STRIDE);
    const free = new Int32Array(capacity);
    free.set(this.free);
    this.free = free;
    this.capacity = capacity;
  }
}

/** The sessions of one service, with removed ones dropped lazily. */
interface ServiceGroup {
  /** The service id string all sessions of the group share. */
  readonly serviceId: string;
  /** The group's sessions, and sessions removed since the last compaction. */
  sessions: MeshSession[];
  /** How many of `sessions` are still stored. */
  live: number;
}

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
 * - Expiry candidates sit in one-second time buckets, so cleanup only visits buckets whose time
 *   has come. A touch does not move a session between buckets; cleanup re-files a session it
 *   finds still alive, so each live session has exactly one bucket entry.
 * - Cleanup works in slices of a few milliseconds and yields to the event loop between them.
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
  /** Id table: sessions by position; `undefined` marks a free entry. */
  private table: (MeshSession | undefined)[] = new Array<MeshSession | undefined>(
    MIN_TABLE_CAPACITY,
  ).fill(undefined);
  /** Per table entry: the 128 bits of the id as four 32-bit words, then the slab slot. */
  private tableIds = new Int32Array(MIN_TABLE_CAPACITY * ENTRY_WORDS);
  private tableMask = MIN_TABLE_CAPACITY - 1;
  private tableSize = 0;
  /** Sessions whose id is not a lower-case UUID (custom sessions): rare, kept in a Map. */
  private readonly otherIds = new Map<string, MeshSession>();
  /** Per-store seed of the table hash. */
  private readonly hashSeed = randomBytes(4).readInt32LE(0);
  /** Keys and times. */
  private readonly slab = new SessionSlab();
  /** The slab slot of the session `find` returned last. */
  private foundSlot = -1;

  private readonly byService = new Map<string, ServiceGroup>();
  private readonly buckets = new Map<number, MeshSession[]>();
  /** Min-heap of the keys of `buckets`. */
  private readonly bucketHeap: number[] = [];
  /** Claimed nonces and when each claim ends, in claim order. */
  private readonly nonces = new Map<string, number>();
  /** The words of the id being looked up (scratch). */
  private readonly idWords = new Int32Array(4);
  /** The words of an entry being shifted back by `erase` (scratch). */
  private readonly shiftWords = new Int32Array(4);

  async create(session: Session): Promise<void> {
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
    const session = this.find(id);
    return session !== undefined && session.expiresAt > now ? session : undefined;
  }

  async updateMetadata(
    id: string,
    patch: Record<string, unknown>,
    now: number,
  ): Promise<Session | undefined> {
    const session = this.find(id);
    if (session === undefined || session.expiresAt <= now) return undefined;
    replaceSessionMetadata(session, Object.freeze({ ...session.metadata, ...patch }));
    return session;
  }

  async delete(id: string): Promise<Session | undefined> {
    const session = this.find(id);
    if (session !== undefined) this.remove(session);
    return session;
  }

  async findByServiceId(serviceId: string, now: number): Promise<Session[]> {
    const group = this.byService.get(serviceId);
    const live: Session[] = [];
    if (group === undefined) return live;
    this.compact(group);
    for (const session of group.sessions) {
      if (session.expiresAt > now) live.push(session);
    }
    return live;
  }

  async deleteByServiceId(serviceId: string): Promise<number> {
    const group = this.byService.get(serviceId);
    if (group === undefined) return 0;
    const removed = group.live;
    for (const session of group.sessions) {
      if (sessionKeySlot(session) !== -1) this.remove(session);
    }
    return removed;
  }

  async deleteExpired(now: number): Promise<number> {
    const lastDueBucket = Math.floor(now / BUCKET_MS);
    // Survivors whose new bucket is already due wait until the loop ends, or it would meet them
    // again.
    const deferred: MeshSession[] = [];
    let removed = 0;
    let handled = 0;
    let sliceStart = performance.now();

    while (this.bucketHeap.length > 0 && this.bucketHeap[0] <= lastDueBucket) {
      const key = this.popBucketKey();
      const entries = this.buckets.get(key);
      this.buckets.delete(key);
      if (entries === undefined) continue;
      for (let i = 0; i < entries.length; i++) {
        const session = entries[i];
        // An entry is stale when its session was removed (invalidated, or expired on access).
        if (sessionKeySlot(session) !== -1) {
          if (session.expiresAt <= now) {
            this.remove(session);
            removed++;
          } else if (Math.floor(session.expiresAt / BUCKET_MS) > lastDueBucket) {
            this.file(session);
          } else {
            deferred.push(session);
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
    for (const session of deferred) {
      if (sessionKeySlot(session) !== -1) this.file(session);
    }
    this.pruneNonces(now);
    return removed;
  }

  async count(): Promise<number> {
    return this.tableSize + this.otherIds.size;
  }

  async claimNonce(scope: string, nonce: string, ttl: number, now: number): Promise<boolean> {
    return this.claim(scope, nonce, ttl, now);
  }

  override async claimNonceAndTouch(
    id: string,
    nonce: string,
    nonceTtl: number,
    now: number,
    idleTimeout: number,
    maxLifetime: number | undefined,
  ): Promise<{ session: Session | undefined; nonceFresh: boolean }> {
    // One synchronous step: nothing can run between the claim and the slide.
    if (!this.claim(id, nonce, nonceTtl, now)) return { session: undefined, nonceFresh: false };
    return { session: this.touchNow(id, now, idleTimeout, maxLifetime), nonceFresh: true };
  }

  /** `touch`, answered synchronously. */
  private touchNow(
    id: string,
    now: number,
    idleTimeout: number,
    maxLifetime: number | undefined,
  ): MeshSession | undefined {
    const session = this.find(id);
    if (session === undefined) return undefined;
    // The times sit in the slab next to the key: the check and the slide touch one cache line.
    const times = this.slab.times;
    const at = this.foundSlot * TIMES_STRIDE + TIMES_OFFSET;
    if (times[at + 2] <= now) {
      this.remove(session);
      return session;
    }
    let expiresAt = now + idleTimeout;
    if (maxLifetime !== undefined && times[at] + maxLifetime < expiresAt) {
      expiresAt = times[at] + maxLifetime;
    }
    times[at + 1] = now;
    times[at + 2] = expiresAt;
    return session;
  }

  private add(input: Session): void {
    // One probe finds both a colliding entry and the free entry the new session takes.
    const canonical = this.parseId(input.id);
    let position = -1;
    if (canonical) {
      if ((this.tableSize + 1) * 2 > this.table.length) this.growTable();
      position = this.probe(this.idWords);
      if (this.table[position] !== undefined) throw new Error(COLLISION);
    } else if (this.otherIds.has(input.id)) {
      throw new Error(COLLISION);
    }
    // A session object is adopted unless another store already holds it, or it is not a
    // MeshSession; then this store keeps its own object, with its own copy of the key, so that
    // each object belongs to one store and no caller's Buffer is wiped.
    const session =
      input instanceof MeshSession && sessionKeySlot(input) === -1
        ? input
        : new MeshSession(
            input.id,
            input.serviceId,
            Buffer.from(input.sessionKey),
            input.createdAt,
            input.lastActivity,
            input.expiresAt,
            input.metadata,
          );
    // The session's own Buffer is copied into the slab, then wiped by bindSessionKey: reading
    // it through the `sessionKey` getter would make one more copy.
    const key = sessionKeyBuffer(session) ?? session.sessionKey;
    const slot = this.slab.take();
    this.slab.bytes.set(
      key.length === SESSION_KEY_LENGTH ? key : key.subarray(0, SESSION_KEY_LENGTH),
      slot * SLOT_BYTES,
    );
    bindSessionKey(session, this.slab, slot);

    let group = this.byService.get(session.serviceId);
    if (group === undefined) {
      group = { serviceId: session.serviceId, sessions: [], live: 0 };
      this.byService.set(session.serviceId, group);
    } else {
      // All sessions of a service share one id string; `serviceId` is read-only for callers,
      // and the store is the one place that may swap it for an equal string.
      (session as { serviceId: string }).serviceId = group.serviceId;
      if (group.sessions.length >= 2 * group.live + 16) this.compact(group);
    }
    group.sessions.push(session);
    group.live++;

    if (canonical) this.occupy(position, session, this.idWords, slot);
    else this.otherIds.set(session.id, session);
    this.file(session);
  }

  private remove(session: MeshSession): void {
    const slot = sessionKeySlot(session);
    if (slot === -1) return;
    if (this.parseId(session.id)) this.erase(this.idWords);
    else this.otherIds.delete(session.id);
    const group = this.byService.get(session.serviceId);
    if (group !== undefined && --group.live === 0) this.byService.delete(session.serviceId);
    releaseSessionKey(session);
    this.slab.release(slot);
  }

  /** Drops removed sessions from a service group. */
  private compact(group: ServiceGroup): void {
    if (group.sessions.length === group.live) return;
    group.sessions = group.sessions.filter((s) => sessionKeySlot(s) !== -1);
  }

  /** The stored session with this id; its slab slot is left in `foundSlot`. */
  private find(id: string): MeshSession | undefined {
    if (!this.parseId(id)) {
      const session = this.otherIds.size === 0 ? undefined : this.otherIds.get(id);
      if (session !== undefined) this.foundSlot = sessionKeySlot(session);
      return session;
    }
    const i = this.probe(this.idWords);
    const session = this.table[i];
    if (session !== undefined) this.foundSlot = this.tableIds[i * ENTRY_WORDS + 4];
    return session;
  }

  /** The entry holding these id words, or else the free entry where they would go. */
  private probe(words: Int32Array): number {
    const ids = this.tableIds;
    const mask = this.tableMask;
    let i = this.hash(words) & mask;
    for (;;) {
      if (this.table[i] === undefined) return i;
      const at = i * ENTRY_WORDS;
      if (
        ids[at] === words[0] &&
        ids[at + 1] === words[1] &&
        ids[at + 2] === words[2] &&
        ids[at + 3] === words[3]
      ) {
        return i;
      }
      i = (i + 1) & mask;
    }
  }

  /** Fills the free table entry `i`. */
  private occupy(i: number, session: MeshSession, words: Int32Array, slot: number): void {
    this.table[i] = session;
    const at = i * ENTRY_WORDS;
    this.tableIds[at] = words[0];
    this.tableIds[at + 1] = words[1];
    this.tableIds[at + 2] = words[2];
    this.tableIds[at + 3] = words[3];
    this.tableIds[at + 4] = slot;
    this.tableSize++;
  }

  /** Removes the entry with these id words, shifting its cluster back (no tombstones). */
  private erase(words: Int32Array): void {
    const table = this.table;
    const ids = this.tableIds;
    const mask = this.tableMask;
    let i = this.hash(words) & mask;
    for (;;) {
      if (table[i] === undefined) return;
      const at = i * ENTRY_WORDS;
      if (
        ids[at] === words[0] &&
        ids[at + 1] === words[1] &&
        ids[at + 2] === words[2] &&
        ids[at + 3] === words[3]
      ) {
        break;
      }
      i = (i + 1) & mask;
    }
    const entry = this.shiftWords;
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      if (table[j] === undefined) break;
      const bj = j * ENTRY_WORDS;
      entry[0] = ids[bj];
      entry[1] = ids[bj + 1];
      entry[2] = ids[bj + 2];
      entry[3] = ids[bj + 3];
      const home = this.hash(entry) & mask;
      // The entry at j stays when its home lies cyclically in (i, j].
      if (i <= j ? i < home && home <= j : i < home || home <= j) continue;
      table[i] = table[j];
      ids.copyWithin(i * ENTRY_WORDS, bj, bj + ENTRY_WORDS);
      i = j;
    }
    table[i] = undefined;
    this.tableSize--;
  }

  private growTable(): void {
    const oldTable = this.table;
    const oldIds = this.tableIds;
    const capacity = oldTable.length * 2;
    this.table = new Array<MeshSession | undefined>(capacity).fill(undefined);
    this.tableIds = new Int32Array(capacity * ENTRY_WORDS);
    this.tableMask = capacity - 1;
    // occupy() counts the entries again.
    this.tableSize = 0;
    const words = new Int32Array(4);
    for (let i = 0; i < oldTable.length; i++) {
      const session = oldTable[i];
      if (session === undefined) continue;
      const at = i * ENTRY_WORDS;
      words.set(oldIds.subarray(at, at + 4));
      this.occupy(this.probe(words), session, words, oldIds[at + 4]);
    }
  }

  /** A 32-bit mix of the id's words (UUID v7 and v1 ids are not random in their first bits). */
  private hash(words: Int32Array): number {
    let h = words[0] ^ words[1] ^ words[2] ^ words[3] ^ this.hashSeed;
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    return h ^ (h >>> 16);
  }

  /**
   * Reads a lower-case UUID (8-4-4-4-12 hex digits) into `idWords`.
   *
   * @returns `false` for anything else
   */
  private parseId(id: string): boolean {
    if (
      id.length !== 36 ||
      id.charCodeAt(8) !== 45 ||
      id.charCodeAt(13) !== 45 ||
      id.charCodeAt(18) !== 45 ||
      id.charCodeAt(23) !== 45
    ) {
      return false;
    }
    const w0 = hexWord(id, 0, 4);
    const w1 = hexWord(id, 9, 14);
    const w2 = hexWord(id, 19, 24);
    const w3 = hexWord(id, 28, 32);
    // hexWord gives NaN for a non-hex digit.
    if (w0 !== w0 || w1 !== w1 || w2 !== w2 || w3 !== w3) return false;
    const words = this.idWords;
    words[0] = w0;
    words[1] = w1;
    words[2] = w2;
    words[3] = w3;
    return true;
  }

  private claim(scope: string, nonce: string, ttl: number, now: number): boolean {
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

/**
 * The 32-bit value of 8 lower-case hex digits: 4 from `first` and 4 from `second` (they are
 * consecutive when `second === first + 4`).
 *
 * @returns the value, or NaN when a character is not a lower-case hex digit
 */
function hexWord(id: string, first: number, second: number): number {
  let value = 0;
  for (let i = 0; i < 8; i++) {
    const code = id.charCodeAt(i < 4 ? first + i : second + i - 4);
    const digit = code < 128 ? HEX_VALUE[code] : -1;
    if (digit < 0) return NaN;
    value = (value << 4) | digit;
  }
  return value;
}
