import type { MeshSession } from '../../core/mesh-session.js';
import { EXPIRES_AT_INDEX, FILING_INDEX, TIMES_STRIDE, type SessionSlab } from './session-slab.js';
import { SlotList } from './slot-list.js';
import { TimeSlices } from './time-slices.js';

/** Width of one bucket (ms). */
const BUCKET_MS = 1_000;
/**
 * Filing marks: a filed slot's is its bucket key plus one half, so that no mark is zero (a
 * released slot's) or equal to another kind of mark, whatever the key.
 */
const FILED = 0.5;
/** Filing mark of a slot a walk has taken out of its bucket and will file again at its end. */
const IN_HAND = 0.25;
/** Filing mark of a slot a count found expired: it waits in `expired` for the next sweep. */
const EXPIRED = 0.75;

/** What a sweep carries from list to list. */
interface SweepWalk {
  readonly now: number;
  readonly lastDueBucket: number;
  /** Survivors whose new bucket is already due: filed once the walk is over, or it would meet them again. */
  readonly deferred: SlotList;
  readonly remove: (session: MeshSession) => void;
  readonly slices: TimeSlices;
}

/**
 * A memory store's expiry candidates, in one-second time buckets keyed by `expiresAt`, with a
 * min-heap of the bucket keys: a sweep only visits buckets whose time has come. A touch does not
 * move a session between buckets; the sweep re-files a session it finds still alive, so each
 * live session has one current bucket entry.
 *
 * Buckets hold slab slots, in {@link SlotList} chunks, not session objects: a sweep reads each
 * entry's `expiresAt` straight from the slab, and filing never copies a large array. Each slot
 * carries a filing mark in the slab (the key of the bucket it is filed in, or a walk's mark), so
 * that an entry whose slot has since been released, reused or filed elsewhere is known stale
 * without a look at any session; a released slot's mark is zero.
 *
 * A count of the expired sessions ({@link countExpired}) files due entries the same way without
 * removing anything: the expired ones it finds wait in a list, with a counter, for the next
 * sweep, so that a count only visits the entries that came due since the last count or sweep.
 *
 * @example
 * ```ts
 * buckets.file(slot);
 * const expired = await buckets.countExpired(Date.now()); // stored, but no longer live
 * const removed = await buckets.sweep(Date.now(), (expired) => store.remove(expired));
 * ```
 */
export class ExpiryBuckets {
  private readonly buckets = new Map<number, SlotList>();
  /** Min-heap of the keys of `buckets`. */
  private readonly heap: number[] = [];
  /** The bucket filed last, and its key: consecutive filings mostly share a bucket. */
  private lastBucket: SlotList | undefined;
  private lastKey = 0;
  /** Slots a count found expired (marked {@link EXPIRED}), for the next sweep; may hold stale ones. */
  private expired = new SlotList();
  /** How many slots are marked {@link EXPIRED}. */
  private expiredCount = 0;
  /** The key of the bucket {@link takeDue} took out last. */
  private takenKey = 0;

  /** @param slab the store's slab: the times, the filing marks, and each slot's session */
  constructor(private readonly slab: SessionSlab) {}

  /**
   * Files the session in `slot` in the bucket of its `expiresAt`.
   *
   * @param slot a slot in use
   */
  file(slot: number): void {
    const times = this.slab.times;
    const at = slot * TIMES_STRIDE;
    const key = Math.floor(times[at + EXPIRES_AT_INDEX] / BUCKET_MS);
    times[at + FILING_INDEX] = key + FILED;
    this.bucketOf(key).push(slot);
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
    const walk: SweepWalk = {
      now,
      lastDueBucket,
      deferred: new SlotList(),
      remove,
      slices: new TimeSlices(),
    };
    // Those a count found expired first; `remove` makes the store forget them here. Those a
    // count finds while this sweep runs wait for the next one.
    const expired = this.expired;
    this.expired = new SlotList();
    let removed = await this.settleMarked(expired, EXPIRED, walk);
    for (
      let entries = this.takeDue(lastDueBucket);
      entries !== undefined;
      entries = this.takeDue(lastDueBucket)
    ) {
      removed += await this.settleMarked(entries, this.takenKey + FILED, walk);
    }
    this.fileHeld(walk.deferred);
    return removed;
  }

  /**
   * Settles the slots of `list` that still carry `mark` (any other entry is stale: its slot was
   * released, reused or filed again since), in the sweep's slices.
   *
   * @returns how many sessions were removed
   */
  private async settleMarked(list: SlotList, mark: number, walk: SweepWalk): Promise<number> {
    const { now, lastDueBucket, deferred, remove, slices } = walk;
    let removed = 0;
    for (let c = 0; c < list.chunkCount; c++) {
      const chunk = list.chunk(c);
      for (let i = 0, n = list.chunkLength(c); i < n; i++) {
        const slot = chunk[i];
        // The slab is read anew for each entry: it may have grown while the sweep yielded.
        const times = this.slab.times;
        if (times[slot * TIMES_STRIDE + FILING_INDEX] === mark) {
          if (mark === EXPIRED) this.expiredCount--;
          if (this.settle(times, slot, now, lastDueBucket, deferred, remove)) removed++;
        }
        if (slices.spent()) await slices.yield();
      }
    }
    return removed;
  }

  /**
   * How many stored sessions have expired by `now`, without removing any: the entries of due
   * buckets are filed as a sweep would file them (a live session under its current `expiresAt`,
   * a removed one's entry dropped), and the expired ones wait, counted, for the next sweep. Its
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
    const current = new SlotList();
    const slices = new TimeSlices();
    for (
      let entries = this.takeDue(lastDueBucket);
      entries !== undefined;
      entries = this.takeDue(lastDueBucket)
    ) {
      const mark = this.takenKey + FILED;
      for (let c = 0; c < entries.chunkCount; c++) {
        const chunk = entries.chunk(c);
        for (let i = 0, n = entries.chunkLength(c); i < n; i++) {
          const slot = chunk[i];
          const times = this.slab.times;
          const at = slot * TIMES_STRIDE;
          if (times[at + FILING_INDEX] === mark) {
            const expiresAt = times[at + EXPIRES_AT_INDEX];
            if (expiresAt <= now) {
              times[at + FILING_INDEX] = EXPIRED;
              this.expired.push(slot);
              this.expiredCount++;
            } else if (Math.floor(expiresAt / BUCKET_MS) > lastDueBucket) {
              this.file(slot);
            } else {
              times[at + FILING_INDEX] = IN_HAND;
              current.push(slot);
            }
          }
          if (slices.spent()) await slices.yield();
        }
      }
    }
    this.fileHeld(current);
    return this.expiredCount;
  }

  /**
   * The session in `slot` is leaving the store: a count no longer holds it as expired. Call it
   * before the slot is released.
   *
   * @param slot the removed session's slot
   */
  forget(slot: number): void {
    if (this.slab.times[slot * TIMES_STRIDE + FILING_INDEX] === EXPIRED) this.expiredCount--;
  }

  /**
   * Removes a session taken from a due bucket (or from `expired`) if it has expired, or else
   * files it anew (later, through `deferred`, when its new bucket is due too).
   *
   * @returns whether the session was removed
   */
  private settle(
    times: Float64Array,
    slot: number,
    now: number,
    lastDueBucket: number,
    deferred: SlotList,
    remove: (session: MeshSession) => void,
  ): boolean {
    const at = slot * TIMES_STRIDE;
    const expiresAt = times[at + EXPIRES_AT_INDEX];
    times[at + FILING_INDEX] = IN_HAND;
    if (expiresAt <= now) {
      remove(this.slab.owner(slot));
      return true;
    }
    if (Math.floor(expiresAt / BUCKET_MS) > lastDueBucket) this.file(slot);
    else deferred.push(slot);
    return false;
  }

  /** Files again the slots a walk held back that are still in hand (neither removed nor filed). */
  private fileHeld(held: SlotList): void {
    for (let c = 0; c < held.chunkCount; c++) {
      const chunk = held.chunk(c);
      for (let i = 0, n = held.chunkLength(c); i < n; i++) {
        const slot = chunk[i];
        if (this.slab.times[slot * TIMES_STRIDE + FILING_INDEX] === IN_HAND) this.file(slot);
      }
    }
  }

  /** The bucket with this key, created (and its key put on the heap) if there is none. */
  private bucketOf(key: number): SlotList {
    if (this.lastBucket !== undefined && this.lastKey === key) return this.lastBucket;
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      bucket = new SlotList();
      this.buckets.set(key, bucket);
      this.pushKey(key);
    }
    this.lastBucket = bucket;
    this.lastKey = key;
    return bucket;
  }

  /**
   * Takes out the earliest bucket whose key is at most `lastDueBucket`; its key is left in
   * `takenKey`.
   */
  private takeDue(lastDueBucket: number): SlotList | undefined {
    while (this.heap.length > 0 && this.heap[0] <= lastDueBucket) {
      const key = this.popKey();
      const entries = this.buckets.get(key);
      if (entries === undefined) continue;
      this.buckets.delete(key);
      if (this.lastBucket === entries) this.lastBucket = undefined;
      this.takenKey = key;
      return entries;
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
