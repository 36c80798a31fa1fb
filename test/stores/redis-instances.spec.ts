import type { Session } from '../../lib/index.js';
import { RedisKeyLayout } from '../../lib/stores/redis/redis-key-layout.js';
import { RedisStoreFixture, testSession } from '../support/store-factories.js';

/*
 * Several instances of a service on one Redis: they share sessions, nonces and the rate limit,
 * and their races (cleanups, invalidations, slides) leave the record and its indexes agreeing.
 */

const MIN = 60_000;
const redis = RedisStoreFixture.start();

describe('RedisSessionStore instances sharing one Redis', () => {
  it('shares sessions and nonces between instances: a replay elsewhere is refused', async () => {
    const keyPrefix = redis.prefix('shared');
    const a = redis.open({ keyPrefix });
    const b = redis.open({ keyPrefix });
    const s = testSession();
    await a.create(s);
    const now = Date.now();
    expect((await b.touch(s.id, now, MIN, undefined))?.sessionKey.equals(s.sessionKey)).toBe(true);
    expect(await a.claimNonce(s.id, 'nonce', MIN, now)).toBe(true);
    expect(await b.claimNonce(s.id, 'nonce', MIN, now)).toBe(false);
    expect((await b.claimNonceAndTouch(s.id, 'nonce', MIN, now, MIN, undefined)).nonceFresh).toBe(
      false,
    );
    expect((await b.claimNonceAndTouch(s.id, 'other', MIN, now, MIN, undefined)).nonceFresh).toBe(
      true,
    );
    expect((await a.claimNonceAndTouch(s.id, 'other', MIN, now, MIN, undefined)).nonceFresh).toBe(
      false,
    );
    expect(await b.delete(s.id)).toBeDefined();
    expect(await a.touch(s.id, now, MIN, undefined)).toBeUndefined();
  });

  it('counts right when several instances clean up at the same time', async () => {
    const keyPrefix = redis.prefix('cleanup');
    // Thousands of calls in flight at once: allow for the queue, not for a slow Redis.
    const instances = [1, 2, 3].map(() => redis.open({ keyPrefix, commandTimeout: 10_000 }));
    const now = Date.now();
    const creates: Promise<void>[] = [];
    for (let i = 0; i < 3_000; i++) {
      creates.push(instances[i % 3].create(testSession(`svc-${i % 7}`, i < 2_400 ? 1_000 : MIN)));
    }
    await Promise.all(creates);
    const removed = await Promise.all([
      ...instances.map((store) => store.deleteExpired(now + 2_000)),
      instances[0].deleteExpired(now + 2_000),
    ]);
    expect(removed.reduce((sum, n) => sum + n, 0)).toBe(2_400);
    expect(await instances[1].count()).toBe(600);
    let inServiceSets = 0;
    for (let i = 0; i < 7; i++) {
      inServiceSets += (await instances[2].findByServiceId(`svc-${i}`, now)).length;
    }
    expect(inServiceSets).toBe(600);
  });

  it('never brings back a session that a racing invalidation or expiry removed', async () => {
    const keyPrefix = redis.prefix('race');
    const admin = redis.admin;
    // Thousands of calls in flight at once: allow for the queue, not for a slow Redis.
    const a = redis.open({ keyPrefix, commandTimeout: 10_000 });
    const b = redis.open({ keyPrefix, commandTimeout: 10_000 });
    const layout = new RedisKeyLayout(keyPrefix);
    const T = Date.now();
    const sessions: Session[] = Array.from({ length: 400 }, (_, i) =>
      testSession(`svc-${i % 5}`, MIN),
    );
    await Promise.all(sessions.map((s, i) => (i % 2 ? a : b).create(s)));

    const removed = new Set<string>();
    const ops: (() => Promise<unknown>)[] = [];
    sessions.forEach((s, i) => {
      for (let t = 0; t < 9; t++) {
        const store = t % 2 ? a : b;
        ops.push(() => store.touch(s.id, T + t * 10, MIN, 10 * MIN));
      }
      if (i % 3 === 0) {
        removed.add(s.id);
        ops.push(() => (i % 2 ? b : a).delete(s.id));
      } else if (i % 3 === 1) {
        // A touch from an instance whose clock is past the expiry removes the session.
        removed.add(s.id);
        ops.push(() => a.touch(s.id, T + 5 * MIN, MIN, undefined));
      }
    });
    // Shuffled, and all in flight at once.
    for (let i = ops.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [ops[i], ops[j]] = [ops[j], ops[i]];
    }
    expect(ops.length).toBeGreaterThan(3_000);
    await Promise.all(ops.map((op) => op()));

    for (const s of sessions) {
      const { record, index, hid, base } = layout.session(s.id);
      const member = hid + layout.serviceHash(s.serviceId);
      const serviceSet = layout.serviceIndex(base, layout.serviceHash(s.serviceId));
      if (removed.has(s.id)) {
        expect(await a.get(s.id, T)).toBeUndefined();
        expect(await admin.exists(record)).toBe(0);
        expect(await admin.zscore(index, member)).toBeNull();
        expect(await admin.sismember(serviceSet, hid)).toBe(0);
      } else {
        const fields = await admin.hgetall(record);
        expect(Object.keys(fields).sort()).toEqual(
          ['c', 'e', 'i', 'k', 'l', 'm', 'm.note', 'v', 'w'].sort(),
        );
        // Filed under its expiry at creation: touches do not move it (cleanup re-files it when
        // due). Callers' clocks differ here by up to 80 ms, so the real expiry may be that early.
        expect(Number(await admin.zscore(index, member))).toBeLessThanOrEqual(
          Number(fields.e) + 1_000,
        );
        expect(await admin.sismember(serviceSet, hid)).toBe(1);
      }
    }
    expect(await a.count()).toBe(sessions.length - removed.size);
    expect(await b.touch(sessions[0].id, T, MIN, undefined)).toBeUndefined();
  });

  it('counts the rate limit in Redis from the first request of a store just created', async () => {
    const keyPrefix = redis.prefix('limit');
    // Nothing awaited before: the clients are still connecting.
    const limiters = [redis.open({ keyPrefix }), redis.open({ keyPrefix })].map((store) =>
      store.createRateLimiter({ maxRequests: 3, windowMs: MIN }),
    );
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await limiters[i % 2].checkLimit('svc'));
    expect(results.map((r) => r.allowed)).toEqual([true, true, true, false]);
    expect(await redis.admin.get(`${keyPrefix}rl:svc`)).toBe('4');
  });
});
