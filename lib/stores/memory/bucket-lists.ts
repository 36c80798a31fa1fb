/** Smallest capacity of the link arrays (slots). */
const MIN_SLOTS = 1 << 10;

/** The end of a list, and a bucket with no entries. */
export const NO_SLOT = -1;

/**
 * Slab slots in buckets keyed by a number (a time), each bucket a doubly linked list threaded
 * through two `Int32Array`s indexed by slot, with a min-heap of the bucket keys. A slot is in at
 * most one bucket. Linking and unlinking cost a few array writes, whatever a bucket holds, so an
 * entry can move to another bucket the moment its time changes: no bucket keeps stale entries,
 * and a walk over a bucket visits its entries only.
 *
 * The lists know nothing of what a slot is filed under: the caller passes the key to
 * {@link unlink}, and must call it only for a slot linked under that key.
 *
 * @example
 * ```ts
 * lists.link(slot, key);
 * lists.unlink(slot, key);
 * const key = lists.earliestKey(); // the smallest key that may hold entries
 * ```
 */
export class BucketLists {
  /** The first slot of each bucket; a bucket emptied stays, as {@link NO_SLOT}, until dropped. */
  private readonly heads = new Map<number, number>();
  /** Min-heap of the keys of `heads`. */
  private readonly heap: number[] = [];
  private next = new Int32Array(MIN_SLOTS);
  private prev = new Int32Array(MIN_SLOTS);

  /**
   * Puts `slot` first in the bucket `key`, creating the bucket if need be.
   *
   * @param slot a slot in no bucket
   * @param key the bucket's key
   */
  link(slot: number, key: number): void {
    if (slot >= this.next.length) this.grow(slot);
    const head = this.heads.get(key);
    if (head === undefined) this.pushKey(key);
    else if (head !== NO_SLOT) this.prev[head] = slot;
    this.next[slot] = head ?? NO_SLOT;
    this.prev[slot] = NO_SLOT;
    this.heads.set(key, slot);
  }

  /**
   * Takes `slot` out of the bucket `key`.
   *
   * @param slot a slot linked in that bucket
   * @param key the bucket's key
   */
  unlink(slot: number, key: number): void {
    const before = this.prev[slot];
    const after = this.next[slot];
    if (after !== NO_SLOT) this.prev[after] = before;
    if (before !== NO_SLOT) this.next[before] = after;
    else this.heads.set(key, after);
  }

  /** The smallest key with a bucket (which may be empty), or `undefined` when there is none. */
  earliestKey(): number | undefined {
    return this.heap.length === 0 ? undefined : this.heap[0];
  }

  /**
   * Takes every entry of the bucket `key` out of it, leaving it empty: the caller then owns the
   * chain that starts at the returned slot (follow it with {@link after}), and must hand back
   * what it did not handle ({@link reattach}) before any other code can run.
   *
   * @param key the key of a bucket
   * @returns the first slot of the chain, or {@link NO_SLOT}
   */
  detach(key: number): number {
    const head = this.heads.get(key) ?? NO_SLOT;
    if (head !== NO_SLOT) this.heads.set(key, NO_SLOT);
    return head;
  }

  /**
   * The slot after `slot` in its chain. Read it before `slot` is linked anywhere else.
   *
   * @param slot a slot in a chain
   */
  after(slot: number): number {
    return this.next[slot];
  }

  /**
   * Gives the rest of a detached chain back to its bucket, ahead of entries linked since (a walk
   * links nothing in a bucket it holds, so there are none unless its caller did).
   *
   * @param key the bucket the chain was detached from
   * @param first the first slot not handled
   */
  reattach(key: number, first: number): void {
    const head = this.heads.get(key);
    if (head === undefined) this.pushKey(key);
    else if (head !== NO_SLOT) {
      let last = first;
      for (let slot = this.next[first]; slot !== NO_SLOT; slot = this.next[slot]) last = slot;
      this.next[last] = head;
      this.prev[head] = last;
    }
    this.prev[first] = NO_SLOT;
    this.heads.set(key, first);
  }

  /**
   * Drops the bucket with the smallest key if it is empty.
   *
   * @returns whether it was dropped
   */
  dropEarliestIfEmpty(): boolean {
    const key = this.heap[0];
    if (this.heads.get(key) !== NO_SLOT) return false;
    this.heads.delete(key);
    this.popKey();
    return true;
  }

  /** Room for `slot`: the slab grows by doubling, so these do too. */
  private grow(slot: number): void {
    let length = this.next.length * 2;
    while (length <= slot) length *= 2;
    const next = new Int32Array(length);
    next.set(this.next);
    this.next = next;
    const prev = new Int32Array(length);
    prev.set(this.prev);
    this.prev = prev;
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
