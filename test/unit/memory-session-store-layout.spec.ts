import { randomBytes, randomUUID } from 'node:crypto';
import { inspect } from 'node:util';
import { copySessionKeyInto } from '../../lib/core/mesh-session.js';
import { MemorySessionStore, MeshSession, type Session } from '../../lib/index.js';

// The memory store's compact layout: keys in a slab, ids in an open-addressing table, service
// groups compacted lazily. These tests pin the security properties of that layout and check it
// against a plain Map model.

const T0 = Date.UTC(2026, 0, 1);
const MIN = 60_000;
const ZEROS = Buffer.alloc(32);

function session(serviceId: string, expiresAt = T0 + MIN, id: string = randomUUID()): MeshSession {
  return new MeshSession(id, serviceId, randomBytes(32), T0, T0, expiresAt);
}

describe('MemorySessionStore layout', () => {
  let store: MemorySessionStore;

  beforeEach(() => {
    store = new MemorySessionStore();
  });

  describe('keys in the slab', () => {
    it('gives back the key it was given, in a Buffer with memory of its own', async () => {
      const key = randomBytes(32);
      const s = new MeshSession(randomUUID(), 'svc', Buffer.from(key), T0, T0, T0 + MIN);
      await store.create(s);
      const found = (await store.get(s.id, T0)) as Session;
      expect(found.sessionKey.equals(key)).toBe(true);
      // Not a view of the slab or of a shared pool.
      expect(found.sessionKey.buffer.byteLength).toBe(32);
      // A fresh copy on every read: wiping one changes nothing stored.
      expect(found.sessionKey).not.toBe(found.sessionKey);
      found.sessionKey.fill(0);
      const copy = found.sessionKey;
      copy.fill(0);
      expect(((await store.get(s.id, T0)) as Session).sessionKey.equals(key)).toBe(true);
    });

    it('copies a stored key into a Buffer it is given, and nothing once removed', async () => {
      const key = randomBytes(32);
      const s = new MeshSession(randomUUID(), 'svc', Buffer.from(key), T0, T0, T0 + MIN);
      const target = Buffer.alloc(40);
      // Not stored yet: the session holds its own key, and the caller reads `sessionKey`.
      expect(copySessionKeyInto(s, target)).toBe(false);
      expect(target.equals(Buffer.alloc(40))).toBe(true);
      await store.create(s);
      expect(copySessionKeyInto(s, target)).toBe(true);
      expect(target.subarray(0, 32).equals(key)).toBe(true);
      expect(target.subarray(32).equals(Buffer.alloc(8))).toBe(true);
      target.fill(0);
      await store.delete(s.id);
      expect(copySessionKeyInto(s, target)).toBe(false);
      expect(target.equals(Buffer.alloc(40))).toBe(true);
    });

    it('never shows the key in JSON, inspect or own keys', async () => {
      const s = session('svc');
      await store.create(s);
      const hex = s.sessionKey.toString('hex');
      const b64 = s.sessionKey.toString('base64');
      for (const text of [
        JSON.stringify(s),
        inspect(s, { showHidden: true }),
        String(Object.keys(s)),
      ]) {
        expect(text).not.toContain(hex);
        expect(text).not.toContain(b64);
        expect(text).not.toContain('sessionKey');
      }
    });

    it('refuses to read the key of a removed session', async () => {
      const s = session('svc');
      await store.create(s);
      expect(s.sessionKey.equals(ZEROS)).toBe(false);
      await store.delete(s.id);
      expect(() => s.sessionKey).toThrow('no longer available');
    });

    it('never lets a removed session read the key of the session that reuses its slot', async () => {
      const old = session('svc');
      await store.create(old);
      await store.delete(old.id);
      const key = randomBytes(32);
      const reuser = new MeshSession(randomUUID(), 'svc', Buffer.from(key), T0, T0, T0 + MIN);
      await store.create(reuser);
      expect(reuser.sessionKey.equals(key)).toBe(true);
      expect(() => old.sessionKey).toThrow('no longer available');
      // The same after cleanup and after a service-wide invalidation reuse slots.
      const expired = session('svc', T0 + 1);
      await store.create(expired);
      await store.deleteExpired(T0 + 1);
      await store.create(session('svc'));
      expect(() => expired.sessionKey).toThrow('no longer available');
      await store.deleteByServiceId('svc');
      await store.create(session('other'));
      expect(() => reuser.sessionKey).toThrow('no longer available');
    });

    it('leaves the Buffer of a plain Session object alone', async () => {
      const key = randomBytes(32);
      const plain: Session = {
        id: randomUUID(),
        serviceId: 'svc',
        sessionKey: key,
        createdAt: T0,
        lastActivity: T0,
        expiresAt: T0 + MIN,
      };
      const copy = Buffer.from(key);
      await store.create(plain);
      await store.delete(plain.id);
      expect(key.equals(copy)).toBe(true);
    });

    it('keeps a session held by another store apart from it', async () => {
      const other = new MemorySessionStore();
      const s = session('svc');
      await other.create(s);
      const key = Buffer.from(s.sessionKey);
      await store.create(s);
      const here = (await store.get(s.id, T0)) as Session;
      expect(here).not.toBe(s);
      await other.delete(s.id);
      expect(here.sessionKey.equals(key)).toBe(true);
      expect(await store.count(T0)).toBe(1);
    });

    it('keeps every key through slab and table growth', async () => {
      const keys = new Map<string, Buffer>();
      for (let i = 0; i < 5000; i++) {
        const key = randomBytes(32);
        const s = new MeshSession(randomUUID(), `svc-${i % 7}`, Buffer.from(key), T0, T0, T0 + MIN);
        await store.create(s);
        keys.set(s.id, key);
      }
      for (const [id, key] of keys) {
        expect(((await store.get(id, T0)) as Session).sessionKey.equals(key)).toBe(true);
      }
    });
  });

  describe('times in the slab', () => {
    it('reads the times from the slab through getters; toJSON gives them in interface order', async () => {
      const s = session('svc');
      await store.create(s);
      await store.touch(s.id, T0 + 5, MIN, undefined);
      expect([s.createdAt, s.lastActivity, s.expiresAt]).toEqual([T0, T0 + 5, T0 + 5 + MIN]);
      // Getters live on the prototype, as in any class: a spread copies the own fields only.
      expect(Object.keys(s)).toEqual(['id', 'serviceId']);
      expect(Object.keys(s.toJSON())).toEqual([
        'id',
        'serviceId',
        'createdAt',
        'lastActivity',
        'expiresAt',
        'metadata',
      ]);
      expect({ ...s.toJSON() }).toEqual({
        id: s.id,
        serviceId: 'svc',
        createdAt: T0,
        lastActivity: T0 + 5,
        expiresAt: T0 + 5 + MIN,
        metadata: undefined,
      });
      expect(JSON.parse(JSON.stringify(s))).toMatchObject({ lastActivity: T0 + 5 });
    });

    it('keeps a removed session at its last times, whoever reuses its slot', async () => {
      const old = session('svc');
      await store.create(old);
      await store.touch(old.id, T0 + 7, MIN, undefined);
      await store.delete(old.id);
      const reuser = new MeshSession(
        randomUUID(),
        'svc',
        randomBytes(32),
        T0 + 99,
        T0 + 99,
        T0 + 2 * MIN,
      );
      await store.create(reuser);
      await store.touch(reuser.id, T0 + 100, MIN, undefined);
      expect([old.createdAt, old.lastActivity, old.expiresAt]).toEqual([T0, T0 + 7, T0 + 7 + MIN]);
      expect([reuser.createdAt, reuser.lastActivity]).toEqual([T0 + 99, T0 + 100]);
    });

    it('hands out read-only views: assigning a time or the metadata changes nothing stored', async () => {
      const s = session('svc');
      await store.create(s);
      const writable = s as unknown as { expiresAt: number; metadata: unknown };
      expect(() => {
        writable.expiresAt = Number.MAX_SAFE_INTEGER;
      }).toThrow(TypeError);
      expect(() => {
        writable.metadata = { injected: true };
      }).toThrow(TypeError);
      expect(s.expiresAt).toBe(T0 + MIN);
      expect(await store.get(s.id, T0 + MIN)).toBeUndefined();
    });

    it('caps a slide at createdAt + maxLifetime, to the millisecond', async () => {
      const s = session('svc', T0 + MIN);
      await store.create(s);
      const touched = await store.touch(s.id, T0 + 30_000, MIN, 75_001);
      expect(touched?.expiresAt).toBe(T0 + 75_001);
      expect(await store.get(s.id, T0 + 75_000)).toBe(s);
      expect(await store.get(s.id, T0 + 75_001)).toBeUndefined();
    });
  });

  describe('ids', () => {
    it('stores ids that are not lower-case UUIDs, and matches ids exactly', async () => {
      const upper = session('svc', T0 + MIN, randomUUID().toUpperCase());
      const custom = session('svc', T0 + MIN, 'custom-id');
      const lower = session('svc');
      for (const s of [upper, custom, lower]) await store.create(s);
      expect(await store.get(upper.id, T0)).toBe(upper);
      expect(await store.get(custom.id, T0)).toBe(custom);
      expect(await store.get(upper.id.toLowerCase(), T0)).toBeUndefined();
      expect(await store.get(lower.id.toUpperCase(), T0)).toBeUndefined();
      expect(await store.count(T0)).toBe(3);
      await expect(store.create(session('svc', T0 + MIN, 'custom-id'))).rejects.toThrow(
        'collision',
      );
      expect(await store.delete(custom.id)).toBe(custom);
      expect(await store.get(custom.id, T0)).toBeUndefined();
      expect(await store.count(T0)).toBe(2);
    });

    it.each([
      ['a digit short', (id: string) => id.slice(0, 35)],
      ['a non-hex digit', (id: string) => `g${id.slice(1)}`],
      ['a hyphen moved', (id: string) => `${id.slice(0, 7)}-${id.slice(8)}`],
      ['a different last digit', (id: string) => `${id.slice(0, 35)}${id[35] === '0' ? '1' : '0'}`],
    ])('finds nothing for an id with %s', async (_label, change) => {
      const s = session('svc');
      await store.create(s);
      expect(await store.get(change(s.id), T0)).toBeUndefined();
      expect(await store.touch(change(s.id), T0, MIN, undefined)).toBeUndefined();
    });
  });

  it('agrees with a Map model over many random operations', async () => {
    // A deterministic generator, so that a failure can be replayed.
    let seed = 42;
    const random = (n: number) => {
      seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0;
      return seed % n;
    };
    const model = new Map<string, { serviceId: string; expiresAt: number; key: Buffer }>();
    const ids: string[] = [];
    let now = T0;
    for (let step = 0; step < 20_000; step++) {
      now += random(50);
      const op = random(100);
      if (op < 45 || ids.length === 0) {
        const key = randomBytes(32);
        const serviceId = `svc-${random(40)}`;
        const s = new MeshSession(
          randomUUID(),
          serviceId,
          Buffer.from(key),
          now,
          now,
          now + 1 + random(MIN),
        );
        await store.create(s);
        model.set(s.id, { serviceId, expiresAt: s.expiresAt, key });
        ids.push(s.id);
      } else {
        const id = ids[random(ids.length)];
        const entry = model.get(id);
        if (op < 70) {
          const touched = await store.touch(id, now, MIN, undefined);
          if (entry === undefined) expect(touched).toBeUndefined();
          else if (entry.expiresAt <= now) {
            expect(touched?.expiresAt).toBe(entry.expiresAt);
            model.delete(id);
          } else {
            expect(touched?.sessionKey.equals(entry.key)).toBe(true);
            entry.expiresAt = now + MIN;
          }
        } else if (op < 85) {
          expect((await store.delete(id))?.id).toBe(entry === undefined ? undefined : id);
          model.delete(id);
        } else if (op < 90) {
          const serviceId = `svc-${random(40)}`;
          const live = [...model].filter(([, e]) => e.serviceId === serviceId && e.expiresAt > now);
          const found = await store.findByServiceId(serviceId, now);
          expect(found.map((s) => s.id).sort()).toEqual(live.map(([id]) => id).sort());
          if (op === 89) {
            const all = [...model].filter(([, e]) => e.serviceId === serviceId);
            expect(await store.deleteByServiceId(serviceId)).toBe(all.length);
            for (const [gone] of all) model.delete(gone);
          }
        } else {
          const expired = [...model].filter(([, e]) => e.expiresAt <= now);
          expect(await store.deleteExpired(now)).toBe(expired.length);
          for (const [gone] of expired) model.delete(gone);
        }
      }
      // The count is of live sessions, whatever cleanup and touches did to the buckets.
      if (step % 100 === 0) expect(await store.count(now)).toBe(liveIn(model, now));
    }
    expect(await store.count(now)).toBe(liveIn(model, now));
    expect(await store.deleteExpired(now)).toBe(model.size - liveIn(model, now));
    for (const [id, entry] of model) {
      if (entry.expiresAt <= now) continue;
      const found = await store.get(id, T0);
      expect(found?.serviceId).toBe(entry.serviceId);
      expect(found?.sessionKey.equals(entry.key)).toBe(true);
    }
  });
});

function liveIn(model: Map<string, { expiresAt: number }>, now: number): number {
  let live = 0;
  for (const entry of model.values()) if (entry.expiresAt > now) live++;
  return live;
}
