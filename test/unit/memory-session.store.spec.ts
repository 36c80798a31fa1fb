import { randomBytes, randomUUID } from 'node:crypto';
import { jest } from '@jest/globals';
import { MemorySessionStore, MeshSession } from '../../lib/index.js';
import { SessionSlab } from '../../lib/stores/memory/session-slab.js';
import { TimeSlices } from '../../lib/stores/memory/time-slices.js';

const T0 = Date.UTC(2026, 0, 1);
const MIN = 60_000;

function session(serviceId: string, createdAt: number, expiresAt: number): MeshSession {
  return new MeshSession(randomUUID(), serviceId, randomBytes(32), createdAt, createdAt, expiresAt);
}

describe('MemorySessionStore', () => {
  let store: MemorySessionStore;

  beforeEach(() => {
    store = new MemorySessionStore();
  });

  it('visits only due buckets: a cleanup before any expiry removes nothing', async () => {
    for (let i = 0; i < 1000; i++) await store.create(session('svc', T0, T0 + 10 * MIN + i));
    expect(await store.deleteExpired(T0 + 10 * MIN - 1)).toBe(0);
    expect(await store.count(T0 + 10 * MIN - 1)).toBe(1000);
  });

  it('is exact to the millisecond inside the current bucket', async () => {
    const early = session('svc', T0, T0 + 10 * MIN + 100);
    const late = session('svc', T0, T0 + 10 * MIN + 900);
    await store.create(early);
    await store.create(late);
    expect(await store.deleteExpired(T0 + 10 * MIN + 100)).toBe(1);
    expect(await store.get(late.id, T0 + 10 * MIN + 100)).toBe(late);
    expect(await store.deleteExpired(T0 + 10 * MIN + 899)).toBe(0);
    expect(await store.deleteExpired(T0 + 10 * MIN + 900)).toBe(1);
    expect(await store.count()).toBe(0);
  });

  it('re-files a session that was touched after it was filed, then removes it when it expires', async () => {
    const s = session('svc', T0, T0 + MIN);
    await store.create(s);
    await store.touch(s.id, T0 + 50_000, MIN, undefined);
    expect(await store.deleteExpired(T0 + MIN)).toBe(0);
    expect(await store.deleteExpired(T0 + 50_000 + MIN - 1)).toBe(0);
    expect(await store.deleteExpired(T0 + 50_000 + MIN)).toBe(1);
  });

  it('moves sessions in use out of due buckets, so a cleanup visits the expired ones only', async () => {
    const sessions = [];
    for (let i = 0; i < 1000; i++) {
      const s = session('svc', T0, T0 + MIN);
      sessions.push(s);
      await store.create(s);
    }
    // Touched with less than half their remaining life to go before their bucket comes due.
    for (const s of sessions.slice(100)) await store.touch(s.id, T0 + 40_000, MIN, undefined);
    // Touched again soon after: no bucket of theirs is due within half their life, so no move.
    for (const s of sessions.slice(100)) await store.touch(s.id, T0 + 41_000, MIN, undefined);
    // A walk counts each entry it takes out of a due bucket as it goes.
    const visits = jest.spyOn(TimeSlices.prototype, 'spent');
    const visited = () => visits.mock.calls.reduce((sum, [count]) => sum + (count ?? 1), 0);
    expect(await store.deleteExpired(T0 + MIN)).toBe(100);
    expect(visited()).toBe(100);
    visits.mockClear();
    expect(await store.count(T0 + 40_000 + MIN - 1)).toBe(900);
    expect(visited()).toBe(0);
    expect(await store.deleteExpired(T0 + 41_000 + MIN)).toBe(900);
    expect(visited()).toBe(900);
    visits.mockRestore();
  });

  it('reads each expired session ahead once, in batches, before removing it', async () => {
    const sessions = [];
    for (let i = 0; i < 1000; i++) {
      const s = session('svc', T0, i < 100 ? T0 + MIN : T0 + 10 * MIN);
      sessions.push(s);
      await store.create(s);
    }
    const preload = jest.spyOn(SessionSlab.prototype, 'preload');
    const removed = jest.spyOn(SessionSlab.prototype, 'release');
    // Found by a count first, then removed from the count's list; then straight from a bucket.
    expect(await store.count(T0 + MIN)).toBe(900);
    expect(await store.deleteExpired(T0 + MIN)).toBe(100);
    expect(await store.deleteExpired(T0 + 10 * MIN)).toBe(900);
    const preloaded = preload.mock.calls.map(([slot]) => slot);
    const released = removed.mock.calls.map(([slot]) => slot);
    expect(preloaded).toHaveLength(1000);
    expect(new Set(preloaded).size).toBe(1000);
    expect(released).toEqual(preloaded);
    for (const s of sessions) expect(await store.get(s.id, T0)).toBeUndefined();
    preload.mockRestore();
    removed.mockRestore();
  });

  it('stays exact when touches, deletes and creations land while a cleanup yields', async () => {
    let seed = 7;
    const random = (n: number) => {
      seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0;
      return seed % n;
    };
    const now = T0 + MIN + 500;
    // Ids and expiries of the sessions that should be stored.
    const model = new Map<string, number>();
    const ids: string[] = [];
    const add = async (expiresAt: number) => {
      const s = session('svc', T0, expiresAt);
      await store.create(s);
      model.set(s.id, expiresAt);
      ids.push(s.id);
    };
    for (let i = 0; i < 6000; i++) await add(T0 + MIN + random(1500));
    // Every clock read looks 10 ms later than the last: each slice ends after 128 entries.
    let fakeNow = 0;
    jest.spyOn(performance, 'now').mockImplementation(() => (fakeNow += 10));
    let cleaning = true;
    const meddle = async () => {
      let rounds = 0;
      while (cleaning) {
        await new Promise((resolve) => setImmediate(resolve));
        rounds++;
        for (let k = 0; k < 25; k++) {
          const id = ids[random(ids.length)];
          const op = random(10);
          if (op < 6) {
            const touched = await store.touch(id, now, MIN, undefined);
            const expiresAt = model.get(id);
            if (expiresAt === undefined) expect(touched).toBeUndefined();
            else if (expiresAt <= now) model.delete(id);
            else {
              expect(touched?.expiresAt).toBe(now + MIN);
              model.set(id, now + MIN);
            }
          } else if (op < 8) {
            await store.delete(id);
            model.delete(id);
          } else {
            await add(op === 8 ? now - random(200) : now + 1 + random(2000));
          }
        }
      }
      return rounds;
    };
    const meddling = meddle();
    const [removed, counted] = await Promise.all([store.deleteExpired(now), store.count(now)]);
    cleaning = false;
    expect(await meddling).toBeGreaterThan(5);
    jest.restoreAllMocks();
    expect(removed).toBeGreaterThan(0);
    expect(counted).toBeGreaterThan(0);
    let live = 0;
    for (const [id, expiresAt] of model) {
      if (expiresAt <= now) continue;
      live++;
      expect((await store.get(id, now))?.expiresAt).toBe(expiresAt);
    }
    expect(await store.count(now)).toBe(live);
    await store.deleteExpired(now);
    expect(await store.count(now)).toBe(live);
    // Nothing live was removed, and nothing expired is left: a later cleanup removes each
    // remaining session exactly when it expires.
    expect(await store.deleteExpired(T0 + 10 * MIN)).toBe(live);
    expect(await store.count(T0 + 10 * MIN)).toBe(0);
  });

  it('skips entries of sessions already deleted or expired on access', async () => {
    const a = session('svc', T0, T0 + MIN);
    const b = session('svc', T0, T0 + MIN);
    await store.create(a);
    await store.create(b);
    await store.delete(a.id);
    expect(await store.touch(b.id, T0 + MIN, MIN, undefined)).toBe(b);
    expect(await store.deleteExpired(T0 + 2 * MIN)).toBe(0);
  });

  it('counts and removes a session once when its slot was reused within the same bucket', async () => {
    const gone = session('svc', T0, T0 + MIN);
    await store.create(gone);
    await store.delete(gone.id);
    // The new session takes the freed slot and is filed in the same bucket as the stale entry.
    const reused = session('svc', T0, T0 + MIN + 1);
    await store.create(reused);
    expect(await store.count(T0 + MIN + 1)).toBe(0);
    expect(await store.deleteExpired(T0 + MIN + 1)).toBe(1);
    expect(await store.count(T0 + MIN + 1)).toBe(0);
    expect(await store.get(reused.id, T0)).toBeUndefined();
  });

  it('keeps the count of expired sessions through deletes, touches and sweeps', async () => {
    const sessions = [];
    for (let i = 0; i < 5000; i++) {
      const s = session('svc', T0, T0 + MIN + i);
      sessions.push(s);
      await store.create(s);
    }
    // 2001 of them (expiresAt <= T0 + MIN + 2000) have expired.
    expect(await store.count(T0 + MIN + 2000)).toBe(2999);
    // Removing one a count found expired takes it out of the expired ones, not the live ones.
    await store.delete(sessions[0].id);
    expect(await store.count(T0 + MIN + 2000)).toBe(2999);
    await store.delete(sessions[2500].id);
    expect(await store.count(T0 + MIN + 2000)).toBe(2998);
    // A touched session outlives the sweep; the sweep removes the expired ones a count found,
    // and those that came due since.
    await store.touch(sessions[3000].id, T0 + MIN + 2000, MIN, undefined);
    expect(await store.deleteExpired(T0 + MIN + 4999)).toBe(4997);
    expect(await store.count(T0 + MIN + 4999)).toBe(1);
    expect(await store.get(sessions[3000].id, T0 + MIN + 4999)).toBe(sessions[3000]);
  });

  it('files sessions that expire near the epoch like any other', async () => {
    const early = session('svc', 0, 500);
    const other = session('svc', 0, 900);
    await store.create(early);
    await store.create(other);
    await store.delete(other.id);
    expect(await store.count(499)).toBe(1);
    expect(await store.count(500)).toBe(0);
    expect(await store.deleteExpired(500)).toBe(1);
  });

  it('touch removes and returns an expired session unchanged, so the caller sees it expired', async () => {
    const s = session('svc', T0, T0 + MIN);
    await store.create(s);
    const touched = await store.touch(s.id, T0 + MIN, MIN, undefined);
    expect(touched?.expiresAt).toBe(T0 + MIN);
    expect(await store.count()).toBe(0);
  });

  it('makes the key of a removed session unreadable', async () => {
    const s = session('svc', T0, T0 + MIN);
    await store.create(s);
    await store.delete(s.id);
    expect(() => s.sessionKey).toThrow('no longer available');
  });

  it('refuses a second session with the same id', async () => {
    const s = session('svc', T0, T0 + MIN);
    await store.create(s);
    await expect(store.create(s)).rejects.toThrow('collision');
    expect(() => store.createNow(session('svc', T0, T0 + MIN))).not.toThrow();
    expect(() => store.createNow(s)).toThrow('collision');
    expect(await store.count(T0)).toBe(2);
  });

  it('keeps the service index in step', async () => {
    const a = session('a', T0, T0 + MIN);
    const b = session('a', T0, T0 + 2 * MIN);
    await store.create(a);
    await store.create(b);
    expect((await store.findByServiceId('a', T0)).length).toBe(2);
    expect((await store.findByServiceId('a', T0 + MIN)).map((x) => x.id)).toEqual([b.id]);
    await store.deleteExpired(T0 + MIN);
    expect(await store.deleteByServiceId('a')).toBe(1);
    expect(await store.findByServiceId('a', T0)).toEqual([]);
  });

  it('keeps services apart when a service leaves and its place and slots are reused', async () => {
    const ids = (list: { id: string }[]) => list.map((x) => x.id).sort();
    const a = [session('a', T0, T0 + MIN), session('a', T0, T0 + MIN)];
    const b = [session('b', T0, T0 + 2 * MIN), session('b', T0, T0 + 2 * MIN)];
    for (const s of [...a, ...b]) await store.create(s);
    // Service a leaves entirely: by sweep and by delete.
    expect(await store.deleteExpired(T0 + MIN)).toBe(2);
    expect(await store.findByServiceId('a', T0)).toEqual([]);
    // A new service, and a's again, take over the freed places and slots.
    const c = [session('c', T0, T0 + 3 * MIN), session('c', T0, T0 + 3 * MIN)];
    const again = session('a', T0, T0 + 3 * MIN);
    for (const s of [...c, again]) await store.create(s);
    expect(ids(await store.findByServiceId('a', T0))).toEqual([again.id]);
    expect(ids(await store.findByServiceId('b', T0))).toEqual(ids(b));
    expect(ids(await store.findByServiceId('c', T0))).toEqual(ids(c));
    // Removing c's sessions one by one leaves b's and a's counts alone.
    await store.delete(c[0].id);
    expect(await store.deleteByServiceId('c')).toBe(1);
    expect(await store.deleteByServiceId('b')).toBe(2);
    expect(ids(await store.findByServiceId('a', T0))).toEqual([again.id]);
    expect(await store.deleteByServiceId('a')).toBe(1);
    expect(await store.count(T0)).toBe(0);
  });

  it('reads the times of a service in place, after its slots changed hands', async () => {
    const a = [session('a', T0, T0 + MIN), session('a', T0, T0 + 2 * MIN)];
    for (const s of a) await store.create(s);
    await store.delete(a[1].id);
    // b's session takes the slot a[1] gave up, with a later activity and expiry than a[0].
    const b = new MeshSession(randomUUID(), 'b', randomBytes(32), T0, T0 + 500, T0 + 5 * MIN);
    await store.create(b);
    expect((await store.findLatestByServiceId('a', T0))?.id).toBe(a[0].id);
    expect((await store.findByServiceId('a', T0 + 2 * MIN)).map((x) => x.id)).toEqual([]);
    expect((await store.findLatestByServiceId('b', T0))?.id).toBe(b.id);
    // A removed session cannot come back (its key left with it), and the index stays as it was.
    await store.delete(a[0].id);
    await expect(store.create(a[0])).rejects.toThrow('no longer available');
    expect(await store.findByServiceId('a', T0)).toEqual([]);
    expect(await store.findLatestByServiceId('a', T0)).toBeUndefined();
    expect(await store.get(a[0].id, T0)).toBeUndefined();
    expect(await store.count(T0)).toBe(1);
  });

  it('claims a nonce once per window, per scope', async () => {
    expect(await store.claimNonce('s1', 'n', 1000, T0)).toBe(true);
    expect(await store.claimNonce('s1', 'n', 1000, T0 + 999)).toBe(false);
    expect(await store.claimNonce('s2', 'n', 1000, T0 + 999)).toBe(true);
    expect(await store.claimNonce('s1', 'n', 1000, T0 + 1000)).toBe(true);
  });

  describe('the session a read found, kept for the touch that follows', () => {
    const TIMEOUT = 10 * MIN;

    it('spares the touch after a read of the same id a second lookup', async () => {
      const s = session('svc', T0, T0 + TIMEOUT);
      await store.create(s);
      const ids = (store as unknown as { ids: { find(id: string): unknown } }).ids;
      const find = jest.spyOn(ids, 'find');
      expect(store.getNow(`${s.id}`, T0 + MIN)).toBe(s);
      const claimed = store.claimNonceAndTouchNow(
        s.id,
        'n'.repeat(16),
        MIN,
        T0 + MIN,
        TIMEOUT,
        undefined,
      );
      expect(claimed).toEqual({ session: s, nonceFresh: true });
      expect(s.expiresAt).toBe(T0 + MIN + TIMEOUT);
      expect(find).toHaveBeenCalledTimes(1);
      // Taken by that touch: the next one looks the id up again.
      expect(store.touchNow(s.id, T0 + 2 * MIN, TIMEOUT, undefined)).toBe(s);
      expect(find).toHaveBeenCalledTimes(2);
    });

    it('slides the session a touch names, not the one read last', async () => {
      const a = session('svc', T0, T0 + TIMEOUT);
      const b = session('svc', T0, T0 + TIMEOUT);
      await store.create(a);
      await store.create(b);
      expect(store.getNow(a.id, T0)).toBe(a);
      expect(store.touchNow(b.id, T0 + MIN, TIMEOUT, undefined)).toBe(b);
      expect(b.expiresAt).toBe(T0 + MIN + TIMEOUT);
      expect(a.expiresAt).toBe(T0 + TIMEOUT);
      expect(store.touchNow(a.id, T0 + 2 * MIN, TIMEOUT, undefined)).toBe(a);
      expect(a.expiresAt).toBe(T0 + 2 * MIN + TIMEOUT);
    });

    it.each([
      ['deleted', (s: MeshSession) => store.delete(s.id)],
      ['invalidated with its service', (s: MeshSession) => store.deleteByServiceId(s.serviceId)],
      ['expired and swept', () => store.deleteExpired(T0 + TIMEOUT)],
    ])(
      'forgets it once it is %s, even when a new session takes its slot',
      async (_case, remove) => {
        const s = session('gone', T0, T0 + TIMEOUT);
        await store.create(s);
        expect(store.getNow(s.id, T0)).toBe(s);
        await remove(s);
        const next = session('next', T0 + TIMEOUT, T0 + 3 * TIMEOUT);
        await store.create(next);
        expect(store.touchNow(s.id, T0 + TIMEOUT, TIMEOUT, undefined)).toBeUndefined();
        expect(
          store.claimNonceAndTouchNow(s.id, 'n'.repeat(16), MIN, T0 + TIMEOUT, TIMEOUT, undefined),
        ).toEqual({ session: undefined, nonceFresh: true });
        expect(next.expiresAt).toBe(T0 + 3 * TIMEOUT);
        expect(await store.count(T0 + TIMEOUT)).toBe(1);
      },
    );
  });

  it('yields to the event loop during a long cleanup', async () => {
    for (let i = 0; i < 2048; i++) await store.create(session('svc', T0, T0 + MIN));
    // Every clock read looks 10 ms later than the last, so each slice runs over its budget.
    let fakeNow = 0;
    jest.spyOn(performance, 'now').mockImplementation(() => (fakeNow += 10));
    let finished = false;
    let ranDuringCleanup = false;
    setImmediate(() => {
      ranDuringCleanup = !finished;
    });
    expect(await store.deleteExpired(T0 + MIN)).toBe(2048);
    finished = true;
    jest.restoreAllMocks();
    expect(ranDuringCleanup).toBe(true);
  });

  it('does not yield when a cleanup fits in one slice', async () => {
    for (let i = 0; i < 10; i++) await store.create(session('svc', T0, T0 + MIN));
    let finished = false;
    let ranDuringCleanup = false;
    setImmediate(() => {
      ranDuringCleanup = !finished;
    });
    expect(await store.deleteExpired(T0 + MIN)).toBe(10);
    finished = true;
    expect(ranDuringCleanup).toBe(false);
  });
});
