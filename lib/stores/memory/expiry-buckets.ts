import { BucketLists, NO_SLOT } from './bucket-lists.js';
import { EXPIRES_AT_INDEX, FILING_INDEX, TIMES_STRIDE, type SessionSlab } from './session-slab.js';
import { SlotList } from './slot-list.js';
import { TimeSlices } from './time-slices.js';
import { BATCH, Walk, type SweepRemoval } from './expiry-walk.js';

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

/**
 * A memory store's sessions in one-second time buckets keyed by `expiresAt` (see
 * {@link BucketLists}): a sweep only visits buckets whose time has come.
 *
 * A touch files a session again once its bucket would come due within half its remaining life
 * ({@link slid}), moving it out of its old bucket: sessions in use stay out of due buckets, so a
 * sweep's cost follows the sessions that expired, not all those in use. A session moves at most
 * once per half of its remaining life, however often it is touched. The sweep files again a
 * session it still finds alive (one that went idle after its last move).
 *
 * Each slot carries a filing mark in the slab: the key of the bucket it is linked in (plus one
 * half, so that no mark is zero, a free slot's), or a walk's mark while a walk holds it. A
 * count of the expired sessions ({@link countExpired}) takes due entries out the same way
 * without removing anything: the expired ones wait in a list, with a counter, for the next
 * sweep, so that a count only visits the entries that came due since the last count or sweep.
 *
 * @example
 * ```ts
 * buckets.file(slot);
 * buckets.slid(slot, now); // after a touch moved its expiry
 * const expired = await buckets.countExpired(Date.now()); // stored, but no longer live
 * // `removal` is the store's SweepRemoval: its remove and preload
 * const removed = await buckets.sweep(Date.now(), removal);
 * ```
 */
export class ExpiryBuckets {
  private readonly lists = new BucketLists();
  /**
   * The entries of the batch a walk is on (see {@link BATCH}). A walk yields between batches
   * only, so walks that interleave (a count during a sweep's yield) never share it.
   */
  private readonly batch = new Int32Array(BATCH);
  /**
   * Slots a count found expired (marked {@link EXPIRED}), for the next sweep; may hold stale
   * ones.
   */
  private expired = new SlotList();
  /** How many slots are marked {@link EXPIRED}. */
  private expiredCount = 0;
  /**
   * The latest walk and its slices, kept alive. Once every object of a class has died, V8 drops
   * the class's hidden class at the next full collection and throws away the optimised code that
   * checks for it: without one of each kept, every sweep after a full collection ran its first
   * slices unoptimised while the walk was compiled again.
   */
  private lastWalk: Walk | undefined;
  private lastSlices: TimeSlices | undefined;

  /** @param slab the store's slab: the times, the filing marks, and each slot's session */
  constructor(private readonly slab: SessionSlab) {}

  /**
   * Files the session in `slot` in the bucket of its `expiresAt`.
   *
   * @param slot a slot in use, in no bucket
   */
  file(slot: number): void {
    const times = this.slab.times;
    const at = slot * TIMES_STRIDE;
    const key = Math.floor(times[at + EXPIRES_AT_INDEX] / BUCKET_MS);
    times[at + FILING_INDEX] = key + FILED;
    this.lists.link(slot, key);
  }

  /**
   * A touch slid the expiry of the session in `slot` (its new `expiresAt` is in the slab): once
   * its bucket would come due within half the life it has left, it moves to the bucket of its
   * new `expiresAt`. A slot a walk holds, or a count found expired, is left to that walk.
   *
   * @param slot a slot in use, just slid
   * @param now the time of the touch (ms)
   */
  slid(slot: number, now: number): void {
    const times = this.slab.times;
    const at = slot * TIMES_STRIDE;
    const filedKey = times[at + FILING_INDEX] - FILED;
    // A walk's marks are not whole numbers once FILED is taken off.
    if (filedKey !== Math.floor(filedKey)) return;
    const expiresAt = times[at + EXPIRES_AT_INDEX];
    if (filedKey * BUCKET_MS > now + (expiresAt - now) / 2) return;
    const key = Math.floor(expiresAt / BUCKET_MS);
    // Capped by a maximum lifetime, the expiry may stay in its bucket.
    if (key > filedKey) {
      this.lists.unlink(slot, filedKey);
      times[at + FILING_INDEX] = key + FILED;
      this.lists.link(slot, key);
    }
  }

  /**
   * Removes, through `removal`, every stored session filed in a due bucket that has expired by
   * `now`, and files the others again. Works in slices of a few milliseconds and yields to the
   * event loop between them.
   *
   * @param now the current time (ms)
   * @param removal takes expired sessions out of the store, each batch read ahead first
   * @returns how many sessions were removed
   */
  async sweep(now: number, removal: SweepRemoval): Promise<number> {
    const walk = (this.lastWalk = new Walk(now, Math.floor(now / BUCKET_MS), removal));
    const slices = (this.lastSlices = new TimeSlices());
    // Those a count found expired first; removing them makes the store forget them here. Those a
    // count finds while this sweep runs wait for the next one.
    const expired = this.expired;
    this.expired = new SlotList();
    const batch = this.batch;
    for (let c = 0; c < expired.chunkCount; c++) {
      const chunk = expired.chunk(c);
      const length = expired.chunkLength(c);
      for (let from = 0; from < length; from += BATCH) {
        let count = 0;
        for (let i = from, end = Math.min(length, from + BATCH); i < end; i++) {
          // Any other mark: the slot was released, or reused and filed, since the count.
          const slot = chunk[i];
          if (this.slab.times[slot * TIMES_STRIDE + FILING_INDEX] === EXPIRED) {
            batch[count++] = slot;
          }
        }
        this.expiredCount -= count;
        this.settleBatch(walk, removal, count);
        if (count > 0 && slices.spent(count)) await slices.yield();
      }
    }
    await this.walkDue(walk, slices);
    this.fileHeld(walk.held);
    return walk.removed;
  }

  /**
   * How many stored sessions have expired by `now`, without removing any: the entries of due
   * buckets are filed as a sweep would file them (a live session under its current
   * `expiresAt`), and the expired ones wait, counted, for the next sweep. Its cost grows with
   * the entries that came due since the last count or sweep, never with the number of sessions,
   * and it works in slices as a sweep does. Sessions a running sweep has taken out and not yet
   * removed count as live until it removes them.
   *
   * @param now the current time (ms)
   * @returns how many stored sessions have `expiresAt <= now`
   */
  async countExpired(now: number): Promise<number> {
    const walk = (this.lastWalk = new Walk(now, Math.floor(now / BUCKET_MS), undefined));
    await this.walkDue(walk, (this.lastSlices = new TimeSlices()));
    this.fileHeld(walk.held);
    return this.expiredCount;
  }

  /**
   * The session in `slot` is leaving the store: it leaves its bucket, and a count no longer
   * holds it as expired. Call it before the slot is released.
   *
   * @param slot the removed session's slot
   */
  forget(slot: number): void {
    const mark = this.slab.times[slot * TIMES_STRIDE + FILING_INDEX];
    if (mark === EXPIRED) {
      this.expiredCount--;
      return;
    }
    const key = mark - FILED;
    if (key === Math.floor(key)) this.lists.unlink(slot, key);
  }

  /**
   * A sweep's visit of the first `count` slots of the batch, read ahead first: removes each
   * session that has expired, and files again or holds the others ({@link refile}).
   */
  private settleBatch(walk: Walk, removal: SweepRemoval, count: number): void {
    const batch = this.batch;
    walk.preloaded ^= removal.preload(batch, count);
    for (let k = 0; k < count; k++) {
      const slot = batch[k];
      // The slab is read anew for each entry: it may have grown while the sweep yielded.
      const times = this.slab.times;
      const expiresAt = times[slot * TIMES_STRIDE + EXPIRES_AT_INDEX];
      if (expiresAt <= walk.now) {
        times[slot * TIMES_STRIDE + FILING_INDEX] = IN_HAND;
        removal.remove(this.slab.owner(slot));
        walk.removed++;
      } else this.refile(walk, slot, expiresAt);
    }
  }

  /**
   * A count's visit: an expired session waits, marked, for the next sweep; a live one is filed
   * under its `expiresAt`, or held when that bucket is due too.
   */
  private note(walk: Walk, slot: number): void {
    const times = this.slab.times;
    const at = slot * TIMES_STRIDE;
    const expiresAt = times[at + EXPIRES_AT_INDEX];
    if (expiresAt <= walk.now) {
      times[at + FILING_INDEX] = EXPIRED;
      this.expired.push(slot);
      this.expiredCount++;
    } else this.refile(walk, slot, expiresAt);
  }

  /**
   * A live session a walk took out: filed under its `expiresAt`, or held (marked in hand) when
   * that bucket is due too, or the walk would meet it again.
   */
  private refile(walk: Walk, slot: number, expiresAt: number): void {
    if (Math.floor(expiresAt / BUCKET_MS) > walk.lastDueBucket) {
      this.file(slot);
    } else {
      this.slab.times[slot * TIMES_STRIDE + FILING_INDEX] = IN_HAND;
      walk.held.push(slot);
    }
  }

  /**
   * Takes the entries of every due bucket out, earliest bucket first, a batch at a time, and
   * visits each ({@link settleBatch} or {@link note}), which files it elsewhere, holds it, or
   * removes it; never in a due bucket, or the walk would meet it again. Yields between slices,
   * with the rest of the bucket it holds given back first, so that a touch or a removal in the
   * meantime finds every entry in its bucket.
   */
  private async walkDue(walk: Walk, slices: TimeSlices): Promise<void> {
    const lists = this.lists;
    const batch = this.batch;
    const removal = walk.removal;
    for (
      let key = lists.earliestKey();
      key !== undefined && key <= walk.lastDueBucket;
      key = lists.earliestKey()
    ) {
      if (lists.dropEarliestIfEmpty()) continue;
      let slot = lists.detach(key);
      while (slot !== NO_SLOT) {
        // The whole batch is read off the chain before any entry is visited and moved.
        let count = 0;
        while (slot !== NO_SLOT && count < BATCH) {
          batch[count++] = slot;
          slot = lists.after(slot);
        }
        if (removal === undefined) {
          for (let k = 0; k < count; k++) this.note(walk, batch[k]);
        } else {
          this.settleBatch(walk, removal, count);
        }
        if (slices.spent(count)) {
          if (slot !== NO_SLOT) lists.reattach(key, slot);
          await slices.yield();
          break;
        }
      }
    }
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
}
