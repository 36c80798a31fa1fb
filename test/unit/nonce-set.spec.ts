import { NonceSet } from '../../lib/stores/memory/nonce-set.js';

describe('NonceSet', () => {
  it('refuses a nonce while its claim lasts, in its scope only, and frees it after', () => {
    const set = new NonceSet();
    expect(set.claim('a', 'n1', 1_000, 0)).toBe(true);
    expect(set.claim('a', 'n1', 1_000, 999)).toBe(false);
    expect(set.claim('b', 'n1', 1_000, 999)).toBe(true);
    expect(set.claim('a', 'n1', 1_000, 1_000)).toBe(true);
    expect(set.claim('a', 'n1', 1_000, 1_500)).toBe(false);
  });

  it('tells scope from nonce: the same characters split differently are another claim', () => {
    const set = new NonceSet();
    expect(set.claim('ab', 'cdefghijklmnopqr', 1_000, 0)).toBe(true);
    expect(set.claim('a', 'bcdefghijklmnopqr', 1_000, 0)).toBe(true);
    expect(set.claim('abc', 'defghijklmnopqr', 1_000, 0)).toBe(true);
    expect(set.claim('ab', 'cdefghijklmnopqr', 1_000, 0)).toBe(false);
  });

  it('holds nothing for a claim that ends at once', () => {
    const set = new NonceSet();
    expect(set.claim('a', 'n1', 0, 5)).toBe(true);
    expect(set.claim('a', 'n1', 0, 5)).toBe(true);
    expect(set.size).toBe(0);
  });

  it('drops claims once they have all ended, so memory follows the live claims', () => {
    const set = new NonceSet();
    for (let i = 0; i < 1_000; i++) set.claim('s', `old-${i}`, 10, 0);
    expect(set.size).toBe(1_000);
    set.claim('s', 'new', 1_000, 100);
    expect(set.size).toBe(1);
    set.prune(2_000);
    expect(set.size).toBe(0);
    expect(set.claim('s', 'new', 1_000, 2_000)).toBe(true);
  });

  it('claims an ended nonce again in place, without a second entry', () => {
    const set = new NonceSet();
    set.claim('s', 'first', 10, 0);
    expect(set.claim('s', 'first', 1_000, 20)).toBe(true);
    expect(set.size).toBe(1);
    expect(set.claim('s', 'first', 1_000, 22)).toBe(false);
  });

  it('keeps a table while any claim in it is live, and frees its ended claims meanwhile', () => {
    const set = new NonceSet();
    set.claim('s', 'long', 10_000, 0);
    for (let i = 0; i < 100; i++) set.claim('s', `short-${i}`, 1, 0);
    expect(set.size).toBe(101);
    expect(set.claim('s', 'short-5', 1, 50)).toBe(true);
    expect(set.claim('s', 'long', 1, 50)).toBe(false);
    set.prune(20_000);
    expect(set.size).toBe(0);
  });

  it('spreads many claims over several tables and finds each in any of them', () => {
    const set = new NonceSet();
    const count = 10_000;
    for (let i = 0; i < count; i++) expect(set.claim('s', `nonce-${i}`, 60_000, i)).toBe(true);
    expect(set.size).toBe(count);
    for (let i = 0; i < count; i += 7)
      expect(set.claim('s', `nonce-${i}`, 60_000, count)).toBe(false);
    // The oldest claims end first; their tables go once every claim in them has ended.
    expect(set.claim('s', 'nonce-0', 60_000, 60_000)).toBe(true);
    expect(set.claim('s', `nonce-${count - 1}`, 60_000, 60_000)).toBe(false);
    set.prune(200_000);
    expect(set.size).toBe(0);
  });
});
