import { performance } from 'node:perf_hooks';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { sessionKeySlot, type MeshSession } from '../../core/mesh-session.js';

/** Width of one bucket (ms). */
const BUCKET_MS = 1_000;
/** How long a sweep may hold the event loop before it yields (ms). */
const SLICE_BUDGET_MS = 3;
/** How many entries a sweep handles between two clock reads. */
const SLICE_CHECK_EVERY = 128;

/**
 * The slices of a walk over many entries: a sweep and a count both work a few milliseconds at a
 * time and yield to the event loop between slices, so that neither blocks it however many
 * entries have come due.
 */
class TimeSlices {
  private handled = 0;
  private started = performance.now();

  /** Counts one entry; whether the running slice has used its budget (checked every 128). */
  spent(): boolean {
    return (
      ++this.handled % SLICE_CHECK_EVERY === 0 && performance.now() - this.started > SLICE_BUDGET_MS
    );
  }

  /** Yields to the event loop, then starts a new slice. */
  async yield(): Promise<void> {
    await yieldToEventLoop();
    this.started = performance.now();
  }
}

/**
 * A memory store's expiry candidates, in one-second time buckets keyed by `expiresAt`, with a
 * min-heap of the bucket keys: a sweep only visits buckets whose time has come. A touch does not
 * move a session between buckets; the sweep re-files a session it finds still alive, so each
 * live session has exactly one bucket entry. Entries of removed sessions are dropped when their
 * bucket comes due.
 *
 * A count of the expired sessions ({@link countExpired}) files due entries the same way without
 * removing anything: the expired ones it finds wait in a set for the next sweep, so that a count
 * only visits the entries that came due since the last count or sweep.
 *
 * @example
 * ```ts
 * buckets.file(session);
 * const expired = await buckets.countExpired(Date.now()); // stored, but no longer live
 * const removed = await buckets.sweep(Date.now(), (expired) => store.remove(expired));
 * ```
 */
export class ExpiryBuckets {
  private readonly buckets = new Map<number, MeshSession[]>();
  /** Min-heap of the keys of `buckets`. */
  private readonly heap: number[] = [];
  /** Stored sessions a count found expired; no bucket holds them, the next sweep removes them. */
  private readonly expired = new Set<MeshSession>();

  /**
   * Files a session in the bucket of its `expiresAt`.
   *
   * @param session a stored session
   */
  file(session: MeshSession): void {
    const key = Math.floor(session.expiresAt / BUCKET_MS);
    const entries = this.buckets.get(key);
    if (entries === undefined) {
      this.buckets.set(key, [session]);
      this.pushKey(key);
    } else {
      entries.push(session);
    }
  }

  /**
   * Removes, through `remove`, every stored session filed in a due bucket that has expired by
   * `now`, and re-files the others. Works in slices of a few milliseconds and yields to the event
   * loop between them.
   *
   * @param now the current time (ms)
   * @param remove takes an expired session out of the store
   * @returns how many sessions were removed
   */
  async sweep(now: number, remove: (session: MeshSession) => void): Promise<number> {
    const lastDueBucket = Math.floor(now / BUCKET_MS);
    // Survivors whose new bucket is already due wait until the loop ends, or it would meet them
    // again.
    const deferred: MeshSession[] = [];
    let removed = 0;
    const slices = new TimeSlices();

    // Those a count found expired first; `remove` makes the store forget them here.
    for (const session of this.expired) {
      if (this.settle(session, now, lastDueBucket, deferred, remove)) removed++;
      this.expired.delete(session);
      if (slices.spent()) await slices.yield();
    }
    for (
      let entries = this.takeDue(lastDueBucket);
      entries !== undefined;
      entries = this.takeDue(lastDueBucket)
    ) {
      for (let i = 0; i < entries.length; i++) {
        if (this.settle(entries[i], now, lastDueBucket, deferred, remove)) removed++;
        if (slices.spent()) await slices.yield();
      }
    }
    for (const session of deferred) {
      if (sessionKeySlot(session) !== -1) this.file(session);
    }
    return removed;
  }

  /**
   * How many stored sessions have expired by `now`, without removing any: the entries of due
   * buckets are filed as a sweep would file them (a live session under its current `expiresAt`,
   * a removed one's entry dropped), and the expired ones wait in a set for the next sweep. Its
   * cost grows with the entries that came due since the last count or sweep, never with the
   * number of sessions, and it works in slices as a sweep does. Sessions a running sweep has
   * taken out and not yet removed count as live until it removes them.
   *
   * @param now the current time (ms)
   * @returns how many stored sessions have `expiresAt <= now`
   */
  async countExpired(now: number): Promise<number> {
    const lastDueBucket = Math.floor(now / BUCKET_MS);
    // Live sessions whose bucket is the current one go back in it once the loop is over.
    const current: MeshSession[] = [];
    const slices = new TimeSlices();
    for (
      let entries = this.takeDue(lastDueBucket);
      entries !== undefined;
      entries = this.takeDue(lastDueBucket)
    ) {
      for (let i = 0; i < entries.length; i++) {
        const session = entries[i];
        if (sessionKeySlot(session) === -1) continue;
        if (session.expiresAt <= now) this.expired.add(session);
        else if (Math.floor(session.expiresAt / BUCKET_MS) > lastDueBucket) this.file(session);
        else current.push(session);
        if (slices.spent()) await slices.yield();
      }
    }
    for (const session of current) this.file(session);
    return this.expired.size;
  }

  /**
   * A session left the store: a count no longer holds it as expired.
   *
   * @param session the removed session
   */
  forget(session: MeshSession): void {
    if (this.expired.size !== 0) this.expired.delete(session);
  }

  /**
   * Removes a session filed in a due bucket if it has expired, or else files it anew (later,
   * through `deferred`, when its new bucket is due too).
   *
   * @returns whether the session was removed
   */
  private settle(
    session: MeshSession,
    now: number,
    lastDueBucket: number,
    deferred: MeshSession[],
    remove: (session: MeshSession) => void,
  ): boolean {
    // An entry is stale when its session was removed (invalidated, or expired on access).
    if (sessionKeySlot(session) === -1) return false;
    if (session.expiresAt <= now) {
      remove(session);
      return true;
    }
    if (Math.floor(session.expiresAt / BUCKET_MS) > lastDueBucket) this.file(session);
    else deferred.push(session);
    return false;
  }

  /** Takes out the entries of the earliest bucket whose key is at most `lastDueBucket`. */
  private takeDue(lastDueBucket: number): MeshSession[] | undefined {
    while (this.heap.length > 0 && this.heap[0] <= lastDueBucket) {
      const key = this.popKey();
      const entries = this.buckets.get(key);
      this.buckets.delete(key);
      if (entries !== undefined) return entries;
    }
    return undefined;
  }

  private pushKey(key: number): void {
    const heap = this.heap;
    let i = heap.push(key) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent] <= key) break;
      heap[i] = heap[parent];
      i = parent;
    }
    heap[i] = key;
  }

  private popKey(): number {
    const heap = this.heap;
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
