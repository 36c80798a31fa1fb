// What the cleanup benchmark runs against, behind one shape:
//   create(serviceId, key) -> the new session's id (after the session is stored)
//   cleanup(expiredIds)    -> how many sessions were removed
//   count()                -> how many are left
//   touch(id)              -> reads the session as a request would (sliding its expiry)
// `expiredIds` is only used by the floor, which knows exactly what to delete; the others find
// the expired sessions themselves.
import { randomUUID } from 'node:crypto';
import { MemorySessionStore, SessionManager } from '../../dist/index.js';
import { ReferenceSessionManager } from '../reference/reference-session-manager.mjs';

/**
 * @param {string} name 'ours', 'floor', 'reference', or a plug-in name handled by `createStore`
 * @param {{ timeout: number, size: number, createStore?: () => Promise<object> }} options
 */
export async function createCleanupTarget(name, { timeout, createStore }) {
  switch (name) {
    case 'floor': {
      const map = new Map();
      return {
        synchronous: true,
        create: async (serviceId, sessionKey) => {
          const now = Date.now();
          const id = randomUUID();
          map.set(id, {
            id,
            serviceId,
            sessionKey,
            createdAt: now,
            lastActivity: now,
            expiresAt: now + timeout,
          });
          return id;
        },
        touch: (id) => {
          const session = map.get(id);
          const now = Date.now();
          session.lastActivity = now;
          session.expiresAt = now + timeout;
        },
        cleanup: async (ids) => {
          for (let i = 0; i < ids.length; i++) map.delete(ids[i]);
          return ids.length;
        },
        count: async () => map.size,
      };
    }
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
