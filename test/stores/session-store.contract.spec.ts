import { randomBytes, randomUUID } from 'node:crypto';
import { MeshSession, RateLimiter, type Session, type SessionStore } from '../../lib/index.js';
import { realSleep } from '../support/redis-server.js';
import { storeFactories } from '../support/store-factories.js';

/*
 * The contract every SessionStore meets, run against each store (memory, Redis, Redis
 * Cluster). Times are passed explicitly, as SessionManager does; they sit near the real clock so
 * that Redis TTLs (which follow expiresAt relative to `now`) stay meaningful.
 */

const MIN = 60_000;

describe.each(storeFactories)('SessionStore contract on the $name store', (factory) => {
  let store: SessionStore;
  let T: number;

  beforeEach(async () => {
    store = await factory.create();
    T = Date.now();
  });

  afterEach(async () => {
    await store.close();
  });

  afterAll(async () => {
    await factory.teardown?.();
  });

  function session(
    overrides: Partial<{
      id: string;
      serviceId: string;
      key: Buffer;
      createdAt: number;
      expiresAt: number;
      metadata: Record<string, unknown>;
    }> = {},
  ): MeshSession {
    const createdAt = overrides.createdAt ?? T;
    return new MeshSession(
      overrides.id ?? randomUUID(),
      overrides.serviceId ?? 'svc',
      overrides.key ?? randomBytes(32),
      createdAt,
      createdAt,
      overrides.expiresAt ?? createdAt + MIN,
      overrides.metadata,
    );
  }

  /** A copy, because the memory store keeps (and later zeroes) the very object it is given. */
  function snapshot(s: Session): Omit<Session, 'sessionKey'> & { key: string } {
    return {
      id: s.id,
      serviceId: s.serviceId,
      key: s.sessionKey.toString('hex'),
      createdAt: s.createdAt,
      lastActivity: s.lastActivity,
      expiresAt: s.expiresAt,
      metadata: s.metadata,
    };
  }

  describe('create and get', () => {
    it('stores a session and hands back an equal MeshSession, key included', async () => {
      const s = session({ metadata: { region: 'eu' } });
      const before = snapshot(s);
      await store.create(s);
      const read = await store.get(s.id, T + 1);
      expect(read).toBeInstanceOf(MeshSession);
      expect(snapshot(read as Session)).toEqual(before);
      expect(JSON.stringify(read)).not.toContain(before.key);
      expect(await store.count()).toBe(1);
    });

    it('keeps a session without metadata without metadata', async () => {
      const s = session();
      await store.create(s);
      expect((await store.get(s.id, T))?.metadata).toBeUndefined();
    });

    it('keeps metadata values exactly (nesting, arrays, big numbers, unicode, null)', async () => {
      const metadata = {
        nested: { deep: { list: [1, 'two', { three: 3 }], empty: [] } },
        emptyObject: {},
        big: Number.MAX_SAFE_INTEGER,
        negative: -0.000123,
        text: 'żółw 🐢 "quoted" \\ back',
        nothing: null,
        yes: true,
        '': 'empty name',
        'dotted.name': 1,
      };
      const s = session({ metadata: structuredClone(metadata) });
      await store.create(s);
      expect((await store.get(s.id, T))?.metadata).toEqual(metadata);
    });

    it('refuses a second session with the same id', async () => {
      const s = session();
      await store.create(s);
      await expect(store.create(session({ id: s.id }))).rejects.toThrow(/collision/i);
      expect(await store.count()).toBe(1);
    });

    it('answers undefined for an unknown id', async () => {
      expect(await store.get(randomUUID(), T)).toBeUndefined();
    });

    it('get does not slide, and does not return (or remove) an expired session', async () => {
      const s = session();
      await store.create(s);
      const read = await store.get(s.id, T + MIN / 2);
      expect(read?.lastActivity).toBe(T);
      expect(read?.expiresAt).toBe(T + MIN);
      expect(await store.get(s.id, T + MIN)).toBeUndefined();
      expect(await store.count()).toBe(1);
    });
  });

  describe('touch', () => {
    it('slides lastActivity and expiresAt', async () => {
      const s = session();
      await store.create(s);
      const touched = await store.touch(s.id, T + 1_000, MIN, undefined);
      expect(touched).toMatchObject({ lastActivity: T + 1_000, expiresAt: T + 1_000 + MIN });
      expect(touched?.sessionKey.equals(s.sessionKey)).toBe(true);
      const read = await store.get(s.id, T + 1_000);
      expect(read).toMatchObject({ lastActivity: T + 1_000, expiresAt: T + 1_000 + MIN });
    });

    it('never slides past createdAt + maxLifetime', async () => {
      const s = session();
      await store.create(s);
      expect((await store.touch(s.id, T + 30_000, MIN, 80_000))?.expiresAt).toBe(T + 80_000);
      expect((await store.touch(s.id, T + 79_999, MIN, 80_000))?.expiresAt).toBe(T + 80_000);
      // The last slide set a 1 ms TTL on a Redis record, which Redis may drop before this touch:
      // the session is then unknown rather than returned expired. Either way it never slides on.
      const last = await store.touch(s.id, T + 80_000, MIN, 80_000);
      if (last !== undefined) expect(last.expiresAt).toBeLessThanOrEqual(T + 80_000);
      expect(await store.get(s.id, T + 80_000)).toBeUndefined();
    });

    it('removes an expired session and returns it with its expiresAt, once', async () => {
      const s = session({ serviceId: 'expiring' });
      await store.create(s);
      const expired = await store.touch(s.id, T + MIN, MIN, undefined);
      expect(expired).toMatchObject({ id: s.id, serviceId: 'expiring', expiresAt: T + MIN });
      expect(expired?.expiresAt).toBeLessThanOrEqual(T + MIN);
      expect(await store.touch(s.id, T + MIN, MIN, undefined)).toBeUndefined();
      expect(await store.count()).toBe(0);
      expect(await store.findByServiceId('expiring', T)).toEqual([]);
    });

    it('answers undefined for an unknown id', async () => {
      expect(await store.touch(randomUUID(), T, MIN, undefined)).toBeUndefined();
    });
  });

  describe('updateMetadata', () => {
    it('merges a patch shallowly and keeps the rest of the session', async () => {
      const s = session({ metadata: { a: 1, b: { x: 1 } } });
      await store.create(s);
      const updated = await store.updateMetadata(s.id, { b: { y: 2 }, revoked: true }, T + 1);
      expect(updated?.metadata).toEqual({ a: 1, b: { y: 2 }, revoked: true });
      expect(updated?.sessionKey.equals(s.sessionKey)).toBe(true);
      const read = await store.get(s.id, T + 1);
      expect(read?.metadata).toEqual({ a: 1, b: { y: 2 }, revoked: true });
      expect(read?.expiresAt).toBe(T + MIN);
    });

    it('gives metadata to a session created without', async () => {
      const s = session();
      await store.create(s);
      expect((await store.updateMetadata(s.id, { tag: 'x' }, T))?.metadata).toEqual({ tag: 'x' });
    });

    it('answers undefined for an unknown or expired session, and changes nothing', async () => {
      const s = session({ metadata: { a: 1 } });
      await store.create(s);
      expect(await store.updateMetadata(randomUUID(), { a: 2 }, T)).toBeUndefined();
      expect(await store.updateMetadata(s.id, { a: 2 }, T + MIN)).toBeUndefined();
      expect((await store.get(s.id, T))?.metadata).toEqual({ a: 1 });
    });
  });

  describe('delete', () => {
    it('removes a session and hands it back, once', async () => {
      const s = session({ serviceId: 'gone' });
      await store.create(s);
      const removed = await store.delete(s.id);
      expect(removed).toMatchObject({ id: s.id, serviceId: 'gone' });
      expect(await store.delete(s.id)).toBeUndefined();
      expect(await store.touch(s.id, T, MIN, undefined)).toBeUndefined();
      expect(await store.findByServiceId('gone', T)).toEqual([]);
      expect(await store.count()).toBe(0);
    });
  });

  describe('by service id', () => {
    it('finds the live sessions of one service only', async () => {
      const a = session({ serviceId: 'a' });
      const b = session({ serviceId: 'a' });
      const old = session({ serviceId: 'a', expiresAt: T + 1_000 });
      const other = session({ serviceId: 'b' });
      for (const s of [a, b, old, other]) await store.create(s);
      const found = await store.findByServiceId('a', T + 2_000);
      expect(found.map((s) => s.id).sort()).toEqual([a.id, b.id].sort());
      for (const s of found) {
        expect(s).toBeInstanceOf(MeshSession);
        expect(s.sessionKey.equals(s.id === a.id ? a.sessionKey : b.sessionKey)).toBe(true);
      }
      expect(await store.findByServiceId('nobody', T)).toEqual([]);
    });

    it('finds many sessions of a service', async () => {
      const ids = new Set<string>();
      for (let i = 0; i < 150; i++) {
        const s = session({ serviceId: 'many' });
        ids.add(s.id);
        await store.create(s);
      }
      const found = await store.findByServiceId('many', T);
      expect(found).toHaveLength(150);
      expect(new Set(found.map((s) => s.id))).toEqual(ids);
    });

    it('finds the live session of a service with the latest activity', async () => {
      const first = session({ serviceId: 'latest' });
      const second = session({ serviceId: 'latest' });
      const touchedLast = session({ serviceId: 'latest', expiresAt: T + 5_000 });
      const other = session({ serviceId: 'not-latest' });
      for (const s of [first, second, touchedLast, other]) await store.create(s);
      await store.touch(second.id, T + 200, MIN, undefined);
      await store.touch(touchedLast.id, T + 400, 2_000, undefined);
      await store.touch(other.id, T + 900, MIN, undefined);
      expect((await store.findLatestByServiceId('latest', T + 500))?.id).toBe(touchedLast.id);
      // Once the one touched last has expired, the next most recent live one.
      expect((await store.findLatestByServiceId('latest', T + 2_500))?.id).toBe(second.id);
      await store.delete(second.id);
      expect((await store.findLatestByServiceId('latest', T + 2_500))?.id).toBe(first.id);
      const found = await store.findLatestByServiceId('latest', T + 2_500);
      expect(found).toBeInstanceOf(MeshSession);
      expect(found?.sessionKey.equals(first.sessionKey)).toBe(true);
      expect(await store.findLatestByServiceId('latest', T + MIN + 1)).toBeUndefined();
      expect(await store.findLatestByServiceId('nobody', T)).toBeUndefined();
    });

    it('removes every session of one service and counts them', async () => {
      for (let i = 0; i < 5; i++) await store.create(session({ serviceId: 'doomed' }));
      const kept = session({ serviceId: 'kept' });
      await store.create(kept);
      expect(await store.deleteByServiceId('doomed')).toBe(5);
      expect(await store.deleteByServiceId('doomed')).toBe(0);
      expect(await store.findByServiceId('doomed', T)).toEqual([]);
      expect(await store.get(kept.id, T)).toBeDefined();
      expect(await store.count()).toBe(1);
    });
  });

  describe('deleteExpired', () => {
    it('removes only sessions expired by now, counts them once, and keeps slid ones', async () => {
      const expiring = Array.from({ length: 6 }, () => session({ expiresAt: T + 1_000 }));
      const fresh = session({ expiresAt: T + MIN });
      for (const s of [...expiring, fresh]) await store.create(s);
      // Kept alive by activity: its expiry moved past the cleanup time.
      await store.touch(expiring[0].id, T + 500, MIN, undefined);
      expect(await store.deleteExpired(T + 2_000)).toBe(5);
      expect(await store.deleteExpired(T + 2_000)).toBe(0);
      expect(await store.count()).toBe(2);
      expect(await store.get(expiring[0].id, T + 2_000)).toBeDefined();
      expect(await store.get(expiring[1].id, T + 500)).toBeUndefined();
      expect((await store.findByServiceId('svc', T + 500)).map((s) => s.id).sort()).toEqual(
        [expiring[0].id, fresh.id].sort(),
      );
    });

    it('does not count sessions already removed', async () => {
      const s = session({ expiresAt: T + 1_000 });
      await store.create(s);
      await store.delete(s.id);
      expect(await store.deleteExpired(T + 2_000)).toBe(0);
    });
  });

  describe('count: live sessions only', () => {
    it('leaves out sessions that expired and that cleanup has not removed yet', async () => {
      for (const lifetime of [MIN, 2 * MIN, 3 * MIN]) {
        await store.create(session({ expiresAt: T + lifetime }));
      }
      expect(await store.count(T)).toBe(3);
      expect(await store.count(T + MIN - 1)).toBe(3);
      // Expiry is exact to the millisecond: expiresAt <= now is expired.
      expect(await store.count(T + MIN)).toBe(2);
      expect(await store.count(T + 2 * MIN + 500)).toBe(1);
      // Nothing was removed by counting: cleanup still finds (and counts) both.
      expect(await store.deleteExpired(T + 2 * MIN + 500)).toBe(2);
      expect(await store.count(T + 2 * MIN + 500)).toBe(1);
    });

    it('counts a session slid after it was filed as live until its new expiry', async () => {
      const s = session();
      await store.create(s);
      await store.touch(s.id, T + 50_000, MIN, undefined);
      expect(await store.count(T + MIN + 1_000)).toBe(1);
      expect(await store.count(T + 50_000 + MIN)).toBe(0);
      expect(await store.deleteExpired(T + 50_000 + MIN)).toBe(1);
      expect(await store.count(T + 50_000 + MIN)).toBe(0);
    });

    it('keeps agreeing with cleanup when sessions it counted expired are deleted or touched', async () => {
      const deleted = session();
      const touched = session();
      const left = session();
      for (const s of [deleted, touched, left]) await store.create(s);
      expect(await store.count(T + MIN)).toBe(0);
      expect((await store.delete(deleted.id))?.id).toBe(deleted.id);
      // A touch of an expired session removes it, as always.
      expect((await store.touch(touched.id, T + MIN, MIN, undefined))?.expiresAt).toBe(T + MIN);
      expect(await store.deleteExpired(T + MIN)).toBe(1);
      expect(await store.count(T + MIN)).toBe(0);
      expect(await store.get(left.id, T)).toBeUndefined();
    });

    it('counts a thousand sessions, half of them slid, without a cleanup', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 1_000; i++) {
        const s = session({ serviceId: `svc-${i % 10}` });
        ids.push(s.id);
        await store.create(s);
      }
      for (let i = 0; i < 500; i++) await store.touch(ids[i], T + 30_000, MIN, undefined);
      expect(await store.count(T + MIN)).toBe(500);
      expect(await store.count(T + MIN + 1)).toBe(500);
      expect(await store.count(T + 30_000 + MIN)).toBe(0);
      expect(await store.deleteExpired(T + 30_000 + MIN)).toBe(1_000);
    });
  });

  describe('nonces', () => {
    it('claims a nonce once per scope, and again once its claim has lapsed', async () => {
      expect(await store.claimNonce('scope-a', 'n1', 30, T)).toBe(true);
      expect(await store.claimNonce('scope-a', 'n1', 30, T + 1)).toBe(false);
      expect(await store.claimNonce('scope-b', 'n1', 30, T + 1)).toBe(true);
      expect(await store.claimNonce('scope-a', 'n2', 30, T + 1)).toBe(true);
      // Redis counts the claim's TTL on its own clock: let real time pass too.
      await realSleep(45);
      expect(await store.claimNonce('scope-a', 'n1', 30, T + 45)).toBe(true);
    });

    it('claimNonceAndTouch claims the nonce, then slides the session, with its key', async () => {
      const s = session();
      await store.create(s);
      const first = await store.claimNonceAndTouch(s.id, 'n', MIN, T + 1_000, MIN, undefined);
      expect(first.nonceFresh).toBe(true);
      expect(first.session).toBeInstanceOf(MeshSession);
      expect(first.session).toMatchObject({
        id: s.id,
        lastActivity: T + 1_000,
        expiresAt: T + 1_000 + MIN,
      });
      expect(first.session?.sessionKey.equals(s.sessionKey)).toBe(true);
      expect(await store.get(s.id, T + 1_000)).toMatchObject({
        lastActivity: T + 1_000,
        expiresAt: T + 1_000 + MIN,
      });
      // The claim is in the session's scope, as claimNonce(id, ...) makes it.
      expect(await store.claimNonce(s.id, 'n', MIN, T + 1_001)).toBe(false);
      expect(await store.claimNonce(s.id, 'other', MIN, T + 1_001)).toBe(true);
      const other = await store.claimNonceAndTouch(s.id, 'other', MIN, T + 1_002, MIN, undefined);
      expect(other).toEqual({ session: undefined, nonceFresh: false });
    });

    it('claimNonceAndTouch slides nothing for a used nonce', async () => {
      const s = session();
      await store.create(s);
      await store.claimNonceAndTouch(s.id, 'n', MIN, T + 1_000, MIN, undefined);
      const replay = await store.claimNonceAndTouch(s.id, 'n', MIN, T + 5_000, MIN, undefined);
      expect(replay).toEqual({ session: undefined, nonceFresh: false });
      expect(await store.get(s.id, T + 5_000)).toMatchObject({
        lastActivity: T + 1_000,
        expiresAt: T + 1_000 + MIN,
      });
    });

    it('claimNonceAndTouch never slides past createdAt + maxLifetime', async () => {
      const s = session();
      await store.create(s);
      const capped = await store.claimNonceAndTouch(s.id, 'n1', MIN, T + 30_000, MIN, 80_000);
      expect(capped.session?.expiresAt).toBe(T + 80_000);
      const last = await store.claimNonceAndTouch(s.id, 'n2', MIN, T + 80_000, MIN, 80_000);
      expect(last.nonceFresh).toBe(true);
      expect(last.session?.expiresAt).toBeLessThanOrEqual(T + 80_000);
      expect(await store.get(s.id, T + 80_000)).toBeUndefined();
    });

    it('claimNonceAndTouch removes an expired session and answers undefined for an unknown one', async () => {
      const s = session({ serviceId: 'expiring' });
      await store.create(s);
      const expired = await store.claimNonceAndTouch(s.id, 'n', MIN, T + MIN, MIN, undefined);
      expect(expired.nonceFresh).toBe(true);
      expect(expired.session).toMatchObject({ id: s.id, serviceId: 'expiring' });
      expect(expired.session?.expiresAt).toBeLessThanOrEqual(T + MIN);
      expect(await store.count()).toBe(0);
      expect(await store.findByServiceId('expiring', T)).toEqual([]);
      const unknown = randomUUID();
      expect(await store.claimNonceAndTouch(unknown, 'n', MIN, T, MIN, undefined)).toEqual({
        session: undefined,
        nonceFresh: true,
      });
    });
  });

  it('builds a rate limiter that counts in the store', async () => {
    const limiter = store.createRateLimiter({ maxRequests: 2, windowMs: MIN });
    expect(limiter).toBeInstanceOf(RateLimiter);
    const key = `svc-${randomUUID()}`;
    expect((await limiter.checkLimit(key)).allowed).toBe(true);
    expect((await limiter.checkLimit(key)).allowed).toBe(true);
    const denied = await limiter.checkLimit(key);
    expect(denied.allowed).toBe(false);
    expect(denied.retryAfter).toBeGreaterThanOrEqual(59);
    await limiter.close();
  });

  it('can be closed twice', async () => {
    await store.close();
    await expect(store.close()).resolves.toBeUndefined();
  });
});
