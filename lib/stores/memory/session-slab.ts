import { sessionKeySlot, type MeshSession } from '../../core/mesh-session.js';
import { redactDumps } from '../../core/redacted.js';
import { SESSION_KEY_LENGTH } from '../../core/session.constants.js';
import type { SessionKeyVault } from '../../core/session-key-vault.js';

/** Float64 indexes per slot. */
export const TIMES_STRIDE = 8;
/** Index of a slot's `createdAt` within its stride, after the key; `lastActivity` and `expiresAt` follow. */
const TIMES_OFFSET = 4;
/** Bytes per slot: the key, then the three times, in one 64-byte cache line. */
const SLOT_BYTES = TIMES_STRIDE * 8;
/** Smallest capacity (sessions). */
const MIN_SLOTS = 1 << 10;
/** Where each time is, relative to the slot's first time. */
const CREATED_AT = 0;
const LAST_ACTIVITY = 1;
const EXPIRES_AT = 2;
/** Index of a slot's `lastActivity` within its stride. */
export const LAST_ACTIVITY_INDEX = TIMES_OFFSET + LAST_ACTIVITY;
/** Index of a slot's `expiresAt` within its stride. */
export const EXPIRES_AT_INDEX = TIMES_OFFSET + EXPIRES_AT;
/**
 * Index of the slot's last float64, which the key and times leave free: the expiry index keeps
 * its own mark there (see `ExpiryBuckets`). Zero in a free slot.
 */
export const FILING_INDEX = TIMES_OFFSET + 3;

/**
 * The keys and times of a memory store's sessions, one 64-byte slot each: the 32-byte key, then
 * `createdAt`, `lastActivity` and `expiresAt`, then a float64 the expiry index marks
 * ({@link FILING_INDEX}). Each slot in use also knows its session ({@link SessionSlab.owner}).
 * Not a Buffer and three boxed numbers per session:
 * a check and its slide touch one cache line. Sessions read their key and times here through
 * their slot; the slab itself is never handed out. Its memory sits in private fields, and
 * `util.inspect` and `JSON.stringify` show only its size: no dump of a store shows a key.
 *
 * @example
 * ```ts
 * const slot = slab.store(key);
 * bindSessionKey(session, slab, slot);
 * slab.slide(slot, now, idleTimeout, maxLifetime); // false once the session has expired
 * ```
 */
export class SessionSlab implements SessionKeyVault {
  /** The slots, as bytes. */
  #bytes = Buffer.alloc(MIN_SLOTS * SLOT_BYTES);
  /** The same memory, as float64 (the times); replaced when the slab grows. */
  #times = new Float64Array(this.#bytes.buffer, this.#bytes.byteOffset, MIN_SLOTS * TIMES_STRIDE);
  private capacity = MIN_SLOTS;
  /** Slots below this mark have been handed out at least once. */
  private mark = 0;
  /** Slots given back, for reuse. */
  private free = new Int32Array(MIN_SLOTS);
  private freeCount = 0;
  /** The session in each slot handed out, `undefined` in a free one. */
  readonly #owners: (MeshSession | undefined)[] = [];

  /**
   * The times, over the same memory as the keys (see {@link SessionKeyVault.times}); replaced
   * when the slab grows.
   */
  get times(): Float64Array {
    return this.#times;
  }

  /**
   * A copy of the key in `slot`, in a Buffer with memory of its own (not a pooled one, whose
   * ArrayBuffer other data shares).
   *
   * @param slot a slot in use
   */
  copyKey(slot: number): Buffer {
    const key = Buffer.allocUnsafeSlow(SESSION_KEY_LENGTH);
    const start = slot * SLOT_BYTES;
    this.#bytes.copy(key, 0, start, start + SESSION_KEY_LENGTH);
    return key;
  }

  /**
   * Copies the key in `slot` into the first 32 bytes of `target` (see
   * {@link SessionKeyVault.copyKeyInto}).
   *
   * @param slot a slot in use
   * @param target at least 32 bytes
   */
  copyKeyInto(slot: number, target: Buffer): void {
    // Byte by byte: `Buffer#copy` of a range makes a view of the source on every call.
    const bytes = this.#bytes;
    const start = slot * SLOT_BYTES;
    for (let i = 0; i < SESSION_KEY_LENGTH; i++) target[i] = bytes[start + i];
  }

  /**
   * Where the times of `slot` start in {@link SessionSlab.times}.
   *
   * @param slot any slot
   */
  timesIndex(slot: number): number {
    return slot * TIMES_STRIDE + TIMES_OFFSET;
  }

  /**
   * The session in `slot`.
   *
   * @param slot a slot in use
   */
  owner(slot: number): MeshSession {
    return this.#owners[slot] as MeshSession;
  }

  /**
   * Reads the slot's times and its session's own fields, ahead of a removal (see
   * `SweepRemoval.preload`).
   *
   * @param slot a slot in use
   * @returns a number made of what was read: the caller keeps it, so that the reads are not
   *   optimised away
   */
  preload(slot: number): number {
    // Whole 32-bit numbers only: a double returned from a call may be boxed, one allocation per
    // session preloaded.
    const expiresAt = this.#times[slot * TIMES_STRIDE + EXPIRES_AT_INDEX] | 0;
    return expiresAt ^ sessionKeySlot(this.#owners[slot] as MeshSession);
  }

  /**
   * Takes a free slot and copies a key into it (its first 32 bytes, should it be longer).
   *
   * @param key the session's key
   * @param owner the session that will read its key and times in the slot
   * @returns the slot
   */
  store(key: Buffer, owner: MeshSession): number {
    const slot = this.take();
    this.#bytes.set(
      key.length === SESSION_KEY_LENGTH ? key : key.subarray(0, SESSION_KEY_LENGTH),
      slot * SLOT_BYTES,
    );
    // Slots are handed out in order, so a new slot appends and the array stays packed.
    this.#owners[slot] = owner;
    return slot;
  }

  /**
   * Slides the expiry of the session in `slot` to `now + idleTimeout`, capped at
   * `createdAt + maxLifetime`, and records `now` as its last activity.
   *
   * @param slot the session's slot
   * @param now the current time (ms)
   * @param idleTimeout how long the session lives past an activity (ms)
   * @param maxLifetime how long the session may live at most (ms), if capped
   * @returns `false`, changing nothing, when the session had expired by `now`
   */
  slide(slot: number, now: number, idleTimeout: number, maxLifetime: number | undefined): boolean {
    const times = this.#times;
    const at = this.timesIndex(slot);
    if (times[at + EXPIRES_AT] <= now) return false;
    let expiresAt = now + idleTimeout;
    if (maxLifetime !== undefined && times[at + CREATED_AT] + maxLifetime < expiresAt) {
      expiresAt = times[at + CREATED_AT] + maxLifetime;
    }
    times[at + LAST_ACTIVITY] = now;
    times[at + EXPIRES_AT] = expiresAt;
    return true;
  }

  /**
   * Wipes a slot and gives it back. The session that held it must have been released first, so
   * that it never reads the key of the session that reuses the slot.
   *
   * @param slot a slot in use
   */
  release(slot: number): void {
    // Eight float64 zeros are the 64 zero bytes of the slot, written without a call into the
    // runtime: a mass expiry releases a million slots.
    const times = this.#times;
    const at = slot * TIMES_STRIDE;
    times[at] = 0;
    times[at + 1] = 0;
    times[at + 2] = 0;
    times[at + 3] = 0;
    times[at + 4] = 0;
    times[at + 5] = 0;
    times[at + 6] = 0;
    times[at + 7] = 0;
    this.#owners[slot] = undefined;
    this.free[this.freeCount++] = slot;
  }

  static {
    // Keeps the keys out of `console.log`, `util.inspect` and Nest's `Logger`: the size only.
    redactDumps(this, (self) => ({ capacity: self.capacity }));
  }

  /** A free slot. */
  private take(): number {
    if (this.freeCount > 0) return this.free[--this.freeCount];
    if (this.mark === this.capacity) this.grow();
    return this.mark++;
  }

  private grow(): void {
    const capacity = this.capacity * 2;
    const bytes = Buffer.alloc(capacity * SLOT_BYTES);
    this.#bytes.copy(bytes);
    // The old memory held keys: wipe it before letting it go.
    this.#bytes.fill(0);
    this.#bytes = bytes;
    this.#times = new Float64Array(bytes.buffer, bytes.byteOffset, capacity * TIMES_STRIDE);
    const free = new Int32Array(capacity);
    free.set(this.free);
    this.free = free;
    this.capacity = capacity;
  }
}
