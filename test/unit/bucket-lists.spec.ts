import { BucketLists, NO_SLOT } from '../../lib/stores/memory/bucket-lists.js';

/** The slots of bucket `key`, in list order; leaves the bucket as it was. */
function contents(lists: BucketLists, key: number): number[] {
  const first = lists.detach(key);
  const out: number[] = [];
  for (let slot = first; slot !== NO_SLOT; slot = lists.after(slot)) out.push(slot);
  if (first !== NO_SLOT) lists.reattach(key, first);
  return out;
}

describe('BucketLists', () => {
  it('links each slot first in its bucket and unlinks it from anywhere in the list', () => {
    const lists = new BucketLists();
    for (const slot of [1, 2, 3, 4]) lists.link(slot, 10);
    lists.link(5, 11);
    expect(contents(lists, 10)).toEqual([4, 3, 2, 1]);
    lists.unlink(3, 10); // middle
    lists.unlink(4, 10); // first
    lists.unlink(1, 10); // last
    expect(contents(lists, 10)).toEqual([2]);
    lists.unlink(2, 10);
    expect(contents(lists, 10)).toEqual([]);
    expect(contents(lists, 11)).toEqual([5]);
    // A slot unlinked can be linked again, elsewhere.
    lists.link(3, 11);
    expect(contents(lists, 11)).toEqual([3, 5]);
  });

  it('keeps buckets by key order, and drops the earliest only once it is empty', () => {
    const lists = new BucketLists();
    expect(lists.earliestKey()).toBeUndefined();
    lists.link(1, 30);
    lists.link(2, 10);
    lists.link(3, 20);
    expect(lists.earliestKey()).toBe(10);
    expect(lists.dropEarliestIfEmpty()).toBe(false);
    lists.unlink(2, 10);
    expect(lists.dropEarliestIfEmpty()).toBe(true);
    expect(lists.earliestKey()).toBe(20);
    // An emptied bucket keeps its key until dropped, so linking again does not add it twice.
    lists.unlink(3, 20);
    lists.link(3, 20);
    lists.unlink(3, 20);
    expect(lists.dropEarliestIfEmpty()).toBe(true);
    expect(lists.earliestKey()).toBe(30);
    expect(lists.dropEarliestIfEmpty()).toBe(false);
  });

  it('gives a detached chain back ahead of entries linked since, and after a drop', () => {
    const lists = new BucketLists();
    for (const slot of [1, 2, 3]) lists.link(slot, 5);
    const first = lists.detach(5);
    expect(first).toBe(3);
    expect(contents(lists, 5)).toEqual([]);
    const rest = lists.after(first);
    lists.link(9, 5);
    lists.reattach(5, rest);
    expect(contents(lists, 5)).toEqual([2, 1, 9]);
    // Each entry can still be unlinked, wherever it now sits.
    lists.unlink(1, 5);
    lists.unlink(2, 5);
    expect(contents(lists, 5)).toEqual([9]);
    // A chain given back to a bucket that was dropped meanwhile brings the bucket back.
    const chain = lists.detach(5);
    expect(lists.dropEarliestIfEmpty()).toBe(true);
    expect(lists.earliestKey()).toBeUndefined();
    lists.reattach(5, chain);
    expect(lists.earliestKey()).toBe(5);
    expect(contents(lists, 5)).toEqual([9]);
  });

  it('grows for slots far past its first capacity', () => {
    const lists = new BucketLists();
    lists.link(100_000, 1);
    lists.link(3, 1);
    lists.link(5_000, 1);
    expect(contents(lists, 1)).toEqual([5_000, 3, 100_000]);
    lists.unlink(3, 1);
    expect(contents(lists, 1)).toEqual([5_000, 100_000]);
  });
});
