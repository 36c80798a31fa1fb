import { NonceSet } from '../../lib/stores/memory/nonce-set.js';

const sizeOf = (set: NonceSet): number =>
  (set as unknown as { claims: Map<string, number> }).claims.size;

describe('NonceSet', () => {
  it('refuses a nonce while its claim lasts, in its scope only, and frees it after', () => {
    const set = new NonceSet();
    expect(set.claim('a', 'n1', 1_000, 0)).toBe(true);
    expect(set.claim('a', 'n1', 1_000, 999)).toBe(false);
    expect(set.claim('b', 'n1', 1_000, 999)).toBe(true);
    expect(set.claim('a', 'n1', 1_000, 1_000)).toBe(true);
    expect(set.claim('a', 'n1', 1_000, 1_500)).toBe(false);
  });

  it('forgets ended claims as new ones arrive, so memory follows the live claims', () => {
    const set = new NonceSet();
    for (let i = 0; i < 1_000; i++) set.claim('s', `old-${i}`, 10, 0);
    expect(sizeOf(set)).toBe(1_000);
    // Each claim prunes a few ended ones: after enough claims, only live ones remain.
    for (let i = 0; i < 200; i++) set.claim('s', `new-${i}`, 1_000, 100);
    expect(sizeOf(set)).toBe(200);
    set.prune(2_000);
    expect(sizeOf(set)).toBe(0);
  });

  it('does not let a re-claimed first entry hide the ended claims behind it', () => {
    const set = new NonceSet();
    set.claim('s', 'first', 10, 0);
    set.claim('s', 'second', 10, 0);
    // The first claim ended and is claimed again: it moves to the back, live until 1_020.
    expect(set.claim('s', 'first', 1_000, 20)).toBe(true);
    set.claim('s', 'third', 1_000, 21);
    expect(sizeOf(set)).toBe(2);
    expect(set.claim('s', 'second', 1_000, 22)).toBe(true);
    expect(set.claim('s', 'first', 1_000, 22)).toBe(false);
  });

  it('prunes nothing while the oldest claim is live', () => {
    const set = new NonceSet();
    set.claim('s', 'long', 10_000, 0);
    for (let i = 0; i < 100; i++) set.claim('s', `short-${i}`, 1, 0);
    set.claim('s', 'later', 10, 50);
    // Pruning stops at the first live claim ("long"), whatever ended behind it.
    expect(sizeOf(set)).toBe(102);
    set.prune(20_000);
    expect(sizeOf(set)).toBe(0);
  });
});
