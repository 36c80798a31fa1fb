// What the cleanup benchmark runs against, behind one shape:
//   create(serviceId, key) -> the new session's id (after the session is stored)
//   cleanup(expiredIds)    -> how many sessions were removed
//   count()                -> how many are left
//   touch(id)              -> reads the session as a request would (sliding its expiry)
// `expiredIds` is only used by the floor and the checked floor, which know exactly what to
// delete; the others find the expired sessions themselves. The indexed floor is the plainest
// store that can: see createIndexedFloor.
import { randomUUID } from 'node:crypto';
import { MemorySessionStore, SessionManager } from '../../dist/index.js';
import { ReferenceSessionManager } from '../reference/reference-session-manager.mjs';

/** Width of the indexed floor's expiry buckets (ms), as the memory store's. */
const BUCKET_MS = 1_000;

/**
 * A session as both floors keep it: a plain object, created now. Unlike store/impls.mjs's
 * `plainSession` it has no `metadata` field, which the cleanup floors have never carried.
 */
function newFloorSession(serviceId, sessionKey, timeout) {
  const now = Date.now();
  return {
    id: randomUUID(),
    serviceId,
    sessionKey,
    createdAt: now,
    lastActivity: now,
    expiresAt: now + timeout,
  };
}

/**
 * The indexed floor: every step a store's cleanup must take, each the plainest way, with no
 * scan. Sessions sit in a `Map` by id, in a `Set` per service (what `findByServiceId` and
 * `deleteByServiceId` need) and in a `Set` per one-second bucket of expiry; every touch moves
 * its session to the bucket of its new expiry, so due buckets hold expired sessions only. A
 * cleanup visits the due buckets in order and, for each session, deletes it from the three
 * collections and wipes its key. Synchronous: it never yields, and its gap is its whole length.
 */
function createIndexedFloor(timeout) {
  const sessions = new Map();
  const services = new Map();
  const buckets = new Map();
  /** No bucket below this key holds a session. */
  let lowest = Infinity;
  const file = (session) => {
    const key = Math.floor(session.expiresAt / BUCKET_MS);
    let bucket = buckets.get(key);
    if (bucket === undefined) buckets.set(key, (bucket = new Set()));
    bucket.add(session.id);
    if (key < lowest) lowest = key;
  };
  return {
    synchronous: true,
    create: async (serviceId, sessionKey) => {
      const session = newFloorSession(serviceId, sessionKey, timeout);
      const id = session.id;
      sessions.set(id, session);
      let ids = services.get(serviceId);
      if (ids === undefined) services.set(serviceId, (ids = new Set()));
      ids.add(id);
      file(session);
      return id;
    },
    touch: (id) => {
      const session = sessions.get(id);
      const now = Date.now();
      buckets.get(Math.floor(session.expiresAt / BUCKET_MS)).delete(id);
      session.lastActivity = now;
      session.expiresAt = now + timeout;
      file(session);
    },
    cleanup: async () => {
      const now = Date.now();
      const last = Math.floor(now / BUCKET_MS);
      let removed = 0;
      for (let key = lowest; key <= last; key++) {
        const bucket = buckets.get(key);
        if (bucket === undefined) continue;
        // Every session in an earlier bucket has expired; in the current second's, some may not.
        const all = key < last;
        for (const id of bucket) {
          const session = sessions.get(id);
          if (!all) {
            if (session.expiresAt > now) continue;
            bucket.delete(id);
          }
          sessions.delete(id);
          const ids = services.get(session.serviceId);
          ids.delete(id);
          if (ids.size === 0) services.delete(session.serviceId);
          session.sessionKey.fill(0);
          removed++;
        }
        if (all || bucket.size === 0) buckets.delete(key);
      }
      lowest = last;
      return removed;
    },
    count: async () => sessions.size,
  };
}

/**
 * A floor that keeps its sessions in one `Map` by id, handed the expired ids by the benchmark:
 * `cleanupOf(map)` gives its cleanup.
 */
function createMapFloor(timeout, cleanupOf) {
  const map = new Map();
  return {
    synchronous: true,
    create: async (serviceId, sessionKey) => {
      const session = newFloorSession(serviceId, sessionKey, timeout);
      map.set(session.id, session);
      return session.id;
    },
    touch: (id) => {
      const session = map.get(id);
      const now = Date.now();
      session.lastActivity = now;
      session.expiresAt = now + timeout;
    },
    cleanup: cleanupOf(map),
    count: async () => map.size,
  };
}

/**
 * @param {string} name 'ours', 'floor', 'checked-floor', 'indexed-floor', 'reference', or a
 *   plug-in name handled by `createStore`
 * @param {{ timeout: number, size: number, createStore?: () => Promise<object> }} options
 */
export async function createCleanupTarget(name, { timeout, createStore }) {
  switch (name) {
    case 'floor':
      return createMapFloor(timeout, (map) => async (ids) => {
        for (let i = 0; i < ids.length; i++) map.delete(ids[i]);
        return ids.length;
      });
    case 'checked-floor':
      // The delete-only floor's Map, with the one step a store cannot skip before it removes a
      // session: reading it, to see that it has expired. A store holds ids, not a list of
      // expired ones; this floor is still handed exactly the expired ids, with no search.
      return createMapFloor(timeout, (map) => async (ids) => {
        const now = Date.now();
        let removed = 0;
        for (let i = 0; i < ids.length; i++) {
          const session = map.get(ids[i]);
          if (session === undefined || session.expiresAt > now) continue;
          map.delete(ids[i]);
          removed++;
        }
        return removed;
      });
    case 'indexed-floor':
      return createIndexedFloor(timeout);
    case 'reference': {
      const manager = new ReferenceSessionManager(timeout);
      return {
        synchronous: true,
        create: async (serviceId, key) => manager.createSession(serviceId, key).id,
        touch: (id) => {
          if (manager.getSession(id) === undefined) throw new Error(`reference lost ${id}`);
        },
        cleanup: async () => manager.cleanupExpiredSessions(),
        count: async () => manager.sessions.size,
      };
    }
    default: {
      // Our SessionManager over a store: the memory store, or one a plug-in creates.
      const store = name === 'ours' ? new MemorySessionStore() : await createStore();
      const manager = new SessionManager(store, { sessionTimeout: timeout });
      return {
        synchronous: false,
        manager,
        store,
        create: async (serviceId, key) => (await manager.createSession(serviceId, key)).id,
        touch: async (id) => {
          if ((await manager.getSession(id)) === undefined) throw new Error(`lost ${id}`);
        },
        cleanup: () => manager.cleanupExpiredSessions(),
        count: async () => (await manager.getStats()).activeSessions,
        close: () => store.close(),
      };
    }
  }
}
