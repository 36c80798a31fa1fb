// The session stores the store benchmarks compare, behind one small adapter shape:
//   create(serviceId, key)  -> the stored session (or a Promise of it when `async`)
//   get(id)                 -> a read that counts as activity (slides the expiry)
//   getNow?(id)             -> the same read without a Promise, where the API offers one
//   byService?(serviceId)   -> the most recently active session of a service
//   remove(id)              -> removes a session
//   ids()                   -> iterates the ids held (read after the heap was measured)
//   beginRound?()           -> called before each timed round
// Every peer is configured the way a user would configure it for sessions with a sliding
// idle timeout.
import { randomUUID } from 'node:crypto';
import { TTLCache } from '@isaacs/ttlcache';
import session from 'express-session';
import { LRUCache } from 'lru-cache';
import { MemorySessionStore, SessionManager } from '../../dist/index.js';
import { ReferenceSessionManager } from '../reference/reference-session-manager.mjs';

export const IMPLEMENTATIONS = [
  'ours',
  'floor',
  'floor-await',
  'reference',
  'lru-cache',
  'ttlcache',
  'memorystore',
];

export const LABELS = {
  ours: 'nestjs-mesh-session (MemorySessionStore via SessionManager)',
  floor: 'floor (Map.get + two field writes)',
  'floor-await': 'floor behind one await (async get, awaited)',
  reference: 'reference design (bench/reference)',
  'lru-cache': 'lru-cache (ttl, updateAgeOnGet)',
  ttlcache: '@isaacs/ttlcache (updateAgeOnGet)',
  memorystore: 'express-session MemoryStore (get + touch)',
};

/** A session object as a user of a generic cache would store it. */
function plainSession(serviceId, sessionKey, now, timeout) {
  return {
    id: randomUUID(),
    serviceId,
    sessionKey,
    createdAt: now,
    lastActivity: now,
    expiresAt: now + timeout,
    metadata: undefined,
  };
}

/**
 * @param {string} name one of IMPLEMENTATIONS
 * @param {{ timeout: number, size: number }} options
 */
export function createImplementation(name, { timeout, size }) {
  switch (name) {
    case 'ours': {
      const store = new MemorySessionStore();
      const manager = new SessionManager(store, { sessionTimeout: timeout });
      return {
        async: true,
        manager,
        create: (serviceId, key) => manager.createSession(serviceId, key),
        get: (id) => manager.getSession(id),
        // The guard's check, which needs no Promise on this store.
        getNow: (id) => manager.validateSessionNow(id),
        byService: (serviceId) => manager.getSessionByServiceId(serviceId),
        remove: (id) => manager.invalidateSession(id),
        cleanup: () => manager.cleanupExpiredSessions(),
        ids: () => storeIds(store),
      };
    }
    case 'floor-await': {
      // The same floor behind one await: what a Promise API costs by itself.
      const floor = createImplementation('floor', { timeout, size });
      const get = floor.get;
      return {
        ...floor,
        async: true,
        get: async (id) => get(id),
      };
    }
    case 'floor': {
      const map = new Map();
      let now = Date.now();
      return {
        async: false,
        beginRound: () => {
          now = Date.now();
        },
        create: (serviceId, key) => {
          const s = plainSession(serviceId, key, Date.now(), timeout);
          map.set(s.id, s);
          return s;
        },
        get: (id) => {
          const s = map.get(id);
          s.lastActivity = now;
          s.expiresAt = now + timeout;
          return s;
        },
        remove: (id) => map.delete(id),
        deleteOnly: (ids) => {
          for (let i = 0; i < ids.length; i++) map.delete(ids[i]);
        },
        ids: () => map.keys(),
      };
    }
    case 'reference': {
      const manager = new ReferenceSessionManager(timeout);
      return {
        async: false,
        create: (serviceId, key) => manager.createSession(serviceId, key),
        get: (id) => manager.getSession(id),
        byService: (serviceId) => manager.getSessionByServiceId(serviceId),
        remove: (id) => manager.invalidateSession(id),
        cleanup: () => manager.cleanupExpiredSessions(),
        ids: () => manager.sessions.keys(),
      };
    }
    case 'lru-cache': {
      // `max` is required by lru-cache; it is set above the population so nothing is evicted.
      const cache = new LRUCache({ max: size * 2, ttl: timeout, updateAgeOnGet: true });
      return {
        async: false,
        create: (serviceId, key) => {
          const s = plainSession(serviceId, key, Date.now(), timeout);
          cache.set(s.id, s);
          return s;
        },
        get: (id) => cache.get(id),
        remove: (id) => cache.delete(id),
        ids: () => cache.keys(),
      };
    }
    case 'ttlcache': {
      const cache = new TTLCache({ ttl: timeout, updateAgeOnGet: true });
      return {
        async: false,
        create: (serviceId, key) => {
          const s = plainSession(serviceId, key, Date.now(), timeout);
          cache.set(s.id, s);
          return s;
        },
        get: (id) => cache.get(id),
        remove: (id) => cache.delete(id),
        ids: () => cache.keys(),
      };
    }
    case 'memorystore': {
      const store = new session.MemoryStore();
      const call = (fn) =>
        new Promise((resolve, reject) =>
          fn((error, value) => (error ? reject(error) : resolve(value))),
        );
      return {
        async: true,
        create: (serviceId, key) => {
          const id = randomUUID();
          const now = Date.now();
          // What express-session would save: the cookie, plus the session's own fields (the key
          // as base64: a Buffer does not survive the store's JSON).
          const sess = {
            cookie: { originalMaxAge: timeout, expires: new Date(now + timeout), httpOnly: true },
            serviceId,
            sessionKey: key.toString('base64'),
            createdAt: now,
          };
          return call((cb) => store.set(id, sess, cb)).then(() => ({ id }));
        },
        // express-session's request cycle: load the session, then touch it with the slid cookie.
        get: (id) =>
          call((cb) => store.get(id, cb)).then((sess) => {
            sess.cookie.expires = new Date(Date.now() + timeout);
            return call((cb) => store.touch(id, sess, cb)).then(() => sess);
          }),
        remove: (id) => call((cb) => store.destroy(id, cb)),
        ids: () => Object.keys(store.sessions),
      };
    }
    default:
      throw new Error(`unknown implementation ${name}`);
  }
}

/**
 * Ids held by our memory store, read from its internals (bench only): the public API has no
 * listing, and the harness must not keep its own references to the ids while the heap is measured.
 */
function* storeIds(store) {
  // The store's id table: an open-addressing array, plus a Map for ids that are not UUIDs.
  const table = store.ids;
  if (!Array.isArray(table?.table) || !(table.otherIds instanceof Map)) {
    throw new Error('cannot list the ids of this store');
  }
  for (const session of table.table) if (session !== undefined) yield session.id;
  yield* table.otherIds.keys();
}
