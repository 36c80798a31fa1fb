import type { MeshSession } from '../../core/mesh-session.js';
import { SlotList } from './slot-list.js';

/**
 * Entries a walk takes out of a bucket before it visits any of them. Removing a session touches
 * several structures at slot-dependent places, each a likely cache miss when the expired
 * sessions are scattered; a batch lets {@link SweepRemoval.preload} read all of them for many
 * sessions in one loop, whose iterations the CPU overlaps, instead of one miss after another.
 */
export const BATCH = 32;

/**
 * How a sweep takes expired sessions out of the store.
 *
 * @example
 * ```ts
 * const removal: SweepRemoval = {
 *   remove: (session) => store.remove(session),
 *   preload: (slots, count) => readAhead(slots, count),
 * };
 * await buckets.sweep(Date.now(), removal);
 * ```
 */
export interface SweepRemoval {
  /** Takes an expired session out of the store (and so calls `ExpiryBuckets.forget`). */
  remove(session: MeshSession): void;
  /**
   * Reads what removing the sessions in `slots[0]` to `slots[count - 1]` will touch, before any
   * is removed (see {@link BATCH}). Reads only: whatever it finds, the sweep decides after.
   *
   * @returns a number made of what was read, which the sweep keeps, so that the reads are not
   *   optimised away
   */
  preload(slots: Int32Array, count: number): number;
}

/**
 * A walk under way, a sweep's (with `removal`) or a count's. A class, not a closure per call, so
 * that the walk's code stays optimized from one cleanup to the next.
 *
 * @example
 * ```ts
 * const walk = new Walk(now, Math.floor(now / 1_000), removal);
 * ```
 */
export class Walk {
  /** Sessions removed so far (a sweep's). */
  removed = 0;
  /** What the sweep's preloads returned, combined: kept, so that their reads stay. */
  preloaded = 0;
  /**
   * Slots in hand whose current bucket is due as well: filed once the walk is over, or it would
   * meet them again.
   */
  readonly held = new SlotList();

  /**
   * @param now the time of the walk (ms)
   * @param lastDueBucket the key of the last bucket whose time has come
   * @param removal how a sweep removes sessions; `undefined` for a count
   */
  constructor(
    readonly now: number,
    readonly lastDueBucket: number,
    readonly removal: SweepRemoval | undefined,
  ) {}
}
