import { randomBytes } from 'node:crypto';
import { jest } from '@jest/globals';
import type { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  MemorySessionStore,
  resolveMeshSessionOptions,
  SessionGuard,
  SessionManager,
  type SessionStore,
} from '../../lib/index.js';
import { inProcessStore } from '../../lib/stores/memory-session.store.js';

// A plain memory store answers synchronously: the manager skips a Promise and the guard skips
// the storeTimeout timer. Anything that may not answer at once keeps both.

class CountingStore extends MemorySessionStore {}

function guardFor(store: SessionStore) {
  const options = resolveMeshSessionOptions({ store, cleanupInterval: false });
  const manager = new SessionManager(options);
  const guard = new SessionGuard(manager, new Reflector(), options, null);
  const request: { headers: Record<string, string> } = { headers: {} };
  const context = {
    getHandler: () => guardFor,
    getClass: () => CountingStore,
    switchToHttp: () => ({ getRequest: () => request, getResponse: () => ({ header() {} }) }),
  } as unknown as ExecutionContext;
  return { manager, guard, request, context };
}

describe('in-process store shortcut', () => {
  afterEach(() => {
    jest.restoreAllMocks();
  });

  it('applies to a plain MemorySessionStore only', () => {
    const plain = new MemorySessionStore();
    expect(inProcessStore(plain)).toBe(plain);
    expect(inProcessStore(new CountingStore())).toBeUndefined();
    const spied = new MemorySessionStore();
    jest.spyOn(spied, 'touch');
    expect(inProcessStore(spied)).toBeUndefined();
    for (const method of [
      'create',
      'delete',
      'get',
      'getAndClaimNonce',
      'claimNonce',
      'claimNonceAndTouch',
    ] as const) {
      const replaced = new MemorySessionStore();
      jest.spyOn(replaced, method);
      expect(inProcessStore(replaced)).toBeUndefined();
    }
  });

  it('arms no storeTimeout timer for a plain memory store, and one per request otherwise', async () => {
    for (const [store, timers] of [
      [new MemorySessionStore(), 0],
      [new CountingStore(), 1],
    ] as const) {
      const { manager, guard, request, context } = guardFor(store);
      const session = await manager.createSession('svc', randomBytes(32));
      request.headers['x-mesh-session-id'] = session.id;
      const setTimer = jest.spyOn(globalThis, 'setTimeout');
      await expect(guard.canActivate(context)).resolves.toBe(true);
      expect(setTimer).toHaveBeenCalledTimes(timers);
      setTimer.mockRestore();
    }
  });

  it('calls a replaced create, and refuses a colliding id through the shortcut', async () => {
    const store = new MemorySessionStore();
    const create = jest.spyOn(store, 'create');
    const { manager } = guardFor(store);
    await manager.createSession('svc', randomBytes(32));
    expect(create).toHaveBeenCalledTimes(1);
    const plain = guardFor(new MemorySessionStore());
    const session = await plain.manager.createSession('svc', randomBytes(32));
    await expect(plain.manager.store.create(session)).rejects.toThrow('collision');
    expect((await plain.manager.getStats()).created).toBe(1);
  });

  it('still gives the same answers through the shortcut', async () => {
    const { manager } = guardFor(new MemorySessionStore());
    const session = await manager.createSession('svc', randomBytes(32));
    expect(await manager.getSession(session.id)).toBe(session);
    expect(await manager.getSession('not-a-uuid')).toBeUndefined();
    await manager.invalidateSession(session.id);
    expect(await manager.getSession(session.id)).toBeUndefined();
    await expect(manager.validateSession(session.id)).rejects.toThrow('Session not found');
  });
});
