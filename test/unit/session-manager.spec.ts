import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { jest } from '@jest/globals';
import {
  MeshAuditEmitter,
  MeshSession,
  MemorySessionStore,
  SessionManager,
  SessionMessages,
  SessionValidationError,
  type SessionStore,
} from '../../lib/index.js';
import { AuditRecorder, keyEncodings } from '../support/audit-recorder.js';
import { storeFactories } from '../support/store-factories.js';
import { countTouches, failStoreCalls, failTouches } from '../support/store-faults.js';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 0, 1);

describe.each(storeFactories)('SessionManager on the $name store', (factory) => {
  let store: SessionStore;
  let audit: AuditRecorder;
  let manager: SessionManager;

  beforeEach(async () => {
    jest.useFakeTimers({ now: T0 });
    store = await factory.create();
    audit = new AuditRecorder();
    manager = new SessionManager(
      store,
      { sessionTimeout: HOUR },
      new MeshAuditEmitter({ adapters: [audit] }, 'self'),
    );
  });

  afterEach(async () => {
    jest.useRealTimers();
    await store.close();
  });

  afterAll(async () => {
    await factory.teardown?.();
  });

  describe('createSession', () => {
    it('creates a session with a UUID v4 id, timestamps and a private copy of the key', async () => {
      const key = randomBytes(32);
      const session = await manager.createSession('billing', key, { region: 'eu' });
      expect(session.id).toMatch(UUID_V4);
      expect(session.serviceId).toBe('billing');
      expect(session.createdAt).toBe(T0);
      expect(session.lastActivity).toBe(T0);
      expect(session.expiresAt).toBe(T0 + HOUR);
      expect(session.metadata).toEqual({ region: 'eu' });
      expect(session.sessionKey.equals(key)).toBe(true);
      key.fill(0);
      const stored = await manager.getSession(session.id);
      expect(stored?.sessionKey.equals(key)).toBe(false);
    });

    it('copies metadata, so later changes by the caller do not reach the store', async () => {
      const metadata = { tags: ['a'] };
      const session = await manager.createSession('billing', randomBytes(32), metadata);
      metadata.tags.push('b');
      expect((await manager.getSession(session.id))?.metadata).toEqual({ tags: ['a'] });
    });

    it.each([
      ['an empty serviceId', '', randomBytes(32), undefined, 'serviceId'],
      ['a serviceId of 256 characters', 'x'.repeat(256), randomBytes(32), undefined, 'serviceId'],
      ['a non-string serviceId', 42, randomBytes(32), undefined, 'serviceId'],
      ['a 31-byte key', 'svc', randomBytes(31), undefined, 'sessionKey'],
      ['a 33-byte key', 'svc', randomBytes(33), undefined, 'sessionKey'],
      ['a string key', 'svc', 'k'.repeat(32), undefined, 'sessionKey'],
      ['array metadata', 'svc', randomBytes(32), [1], 'metadata'],
      ['a Date in metadata', 'svc', randomBytes(32), { at: new Date() }, 'metadata.at'],
      ['a function in metadata', 'svc', randomBytes(32), { fn: () => 1 }, 'metadata.fn'],
      ['NaN in metadata', 'svc', randomBytes(32), { n: NaN }, 'metadata.n'],
      ['a class instance as metadata', 'svc', randomBytes(32), new Map(), 'metadata'],
    ])(
      'rejects %s with a TypeError naming the argument',
      async (_label, serviceId, key, metadata, name) => {
        const attempt = manager.createSession(
          serviceId as string,
          key as Buffer,
          metadata as never,
        );
        await expect(attempt).rejects.toThrow(TypeError);
        await expect(
          manager.createSession(serviceId as string, key as Buffer, metadata as never),
        ).rejects.toThrow(`"${name}"`);
        expect((await manager.getStats()).created).toBe(0);
      },
    );

    it('rejects circular metadata', async () => {
      const metadata: Record<string, unknown> = {};
      metadata.self = metadata;
      await expect(manager.createSession('svc', randomBytes(32), metadata)).rejects.toThrow(
        TypeError,
      );
    });

    it('rejects when the store fails to save, never throws, and counts or audits nothing', async () => {
      const failure = new Error('store down');
      const restore = failStoreCalls(store, 'create', failure);
      let pending: Promise<unknown> | undefined;
      expect(() => {
        pending = manager.createSession('svc', randomBytes(32));
      }).not.toThrow();
      await expect(pending).rejects.toBe(failure);
      restore();
      expect((await manager.getStats()).created).toBe(0);
      expect(audit.actions()).not.toContain('session_created');
      await manager.createSession('svc', randomBytes(32));
      expect(audit.actions()).toContain('session_created');
    });

    it('never echoes a rejected key in the error message', async () => {
      const key = randomBytes(33);
      const error = (await manager.createSession('svc', key).catch((e: unknown) => e)) as Error;
      for (const encoding of keyEncodings(key)) expect(error.message).not.toContain(encoding);
    });
  });

  describe('getSession', () => {
    it('slides lastActivity and expiresAt on every read', async () => {
      const session = await manager.createSession('svc', randomBytes(32));
      jest.setSystemTime(T0 + 30 * 60_000);
      const read = await manager.getSession(session.id);
      expect(read?.lastActivity).toBe(T0 + 30 * 60_000);
      expect(read?.expiresAt).toBe(T0 + 30 * 60_000 + HOUR);
    });

    it('returns undefined and removes a session at exactly expiresAt', async () => {
      const session = await manager.createSession('svc', randomBytes(32));
      jest.setSystemTime(T0 + HOUR - 1);
      expect(await manager.getSession(session.id)).toBeDefined();
      jest.setSystemTime(T0 + HOUR - 1 + HOUR);
      expect(await manager.getSession(session.id)).toBeUndefined();
      expect(await manager.getStats()).toMatchObject({ activeSessions: 0, expired: 1 });
      expect(audit.actions()).toContain('session_expired');
    });

    it('never slides past createdAt + maxSessionLifetime', async () => {
      const capped = new SessionManager(store, {
        sessionTimeout: HOUR,
        maxSessionLifetime: 2 * HOUR,
      });
      const session = await capped.createSession('svc', randomBytes(32));
      jest.setSystemTime(T0 + 50 * 60_000);
      expect((await capped.getSession(session.id))?.expiresAt).toBe(T0 + 110 * 60_000);
      jest.setSystemTime(T0 + 100 * 60_000);
      expect((await capped.getSession(session.id))?.expiresAt).toBe(T0 + 2 * HOUR);
      jest.setSystemTime(T0 + 2 * HOUR - 1);
      expect((await capped.getSession(session.id))?.expiresAt).toBe(T0 + 2 * HOUR);
      jest.setSystemTime(T0 + 2 * HOUR);
      expect(await capped.getSession(session.id)).toBeUndefined();
    });

    it('answers undefined for a malformed id without asking the store', async () => {
      const touches = countTouches(store);
      for (const id of ['', 'abc', 'x'.repeat(36), '00000000-0000-0000-0000-000000000000', {}]) {
        expect(await manager.getSession(id as string)).toBeUndefined();
      }
      expect(touches()).toBe(0);
    });

    it('rejects when the store fails, and never throws synchronously', async () => {
      const session = await manager.createSession('svc', randomBytes(32));
      const failure = new Error('store down');
      const restore = failTouches(store, failure);
      let pending: Promise<unknown> | undefined;
      expect(() => {
        pending = manager.getSession(session.id);
      }).not.toThrow();
      await expect(pending).rejects.toBe(failure);
      restore();
      expect((await manager.getSession(session.id))?.id).toBe(session.id);
    });

    it('answers undefined for an unknown UUID', async () => {
      expect(await manager.getSession('3b241101-e2bb-4255-8caf-4136c566a962')).toBeUndefined();
    });
  });

  describe('lookup by service id', () => {
    it('returns the most recently active live session of the service', async () => {
      const first = await manager.createSession('svc', randomBytes(32));
      jest.setSystemTime(T0 + 1000);
      const second = await manager.createSession('svc', randomBytes(32));
      await manager.createSession('other', randomBytes(32));
      expect((await manager.getSessionByServiceId('svc'))?.id).toBe(second.id);
      jest.setSystemTime(T0 + 2000);
      await manager.getSession(first.id);
      expect((await manager.getSessionByServiceId('svc'))?.id).toBe(first.id);
      const all = await manager.getSessionsByServiceId('svc');
      expect(all.map((s) => s.id).sort()).toEqual([first.id, second.id].sort());
      expect(await manager.getSessionByServiceId('nobody')).toBeUndefined();
    });

    it('rejects when the store fails, even by throwing, and never throws synchronously', async () => {
      await manager.createSession('svc', randomBytes(32));
      const failure = new Error('store down');
      const spy = jest.spyOn(store, 'findLatestByServiceId').mockImplementation(() => {
        throw failure;
      });
      let pending: Promise<unknown> | undefined;
      expect(() => {
        pending = manager.getSessionByServiceId('svc');
      }).not.toThrow();
      await expect(pending).rejects.toBe(failure);
      spy.mockRejectedValueOnce(failure);
      await expect(manager.getSessionByServiceId('svc')).rejects.toBe(failure);
      spy.mockRestore();
      expect(await manager.getSessionByServiceId('svc')).toBeDefined();
      expect(await manager.getSessionByServiceId('' as string)).toBeUndefined();
      expect(await manager.getSessionByServiceId(42 as unknown as string)).toBeUndefined();
    });

    it('ignores expired sessions', async () => {
      await manager.createSession('svc', randomBytes(32));
      jest.setSystemTime(T0 + HOUR);
      expect(await manager.getSessionByServiceId('svc')).toBeUndefined();
      expect(await manager.getSessionsByServiceId('svc')).toEqual([]);
    });
  });

  describe('metadata, invalidation and revocation', () => {
    it('merges a metadata patch', async () => {
      const session = await manager.createSession('svc', randomBytes(32), { a: 1, b: 2 });
      const updated = await manager.updateSessionMetadata(session.id, { b: 3, revoked: true });
      expect(updated?.metadata).toEqual({ a: 1, b: 3, revoked: true });
      expect((await manager.getSession(session.id))?.metadata).toEqual({
        a: 1,
        b: 3,
        revoked: true,
      });
    });

    it('rejects a patch that is not a plain JSON object, and a __proto__ key', async () => {
      const session = await manager.createSession('svc', randomBytes(32));
      await expect(manager.updateSessionMetadata(session.id, null as never)).rejects.toThrow(
        '"patch"',
      );
      await expect(
        manager.updateSessionMetadata(session.id, JSON.parse('{"__proto__":{"x":1}}')),
      ).rejects.toThrow(TypeError);
    });

    it('answers undefined when patching an unknown or expired session', async () => {
      const session = await manager.createSession('svc', randomBytes(32));
      expect(await manager.updateSessionMetadata('nope', { a: 1 })).toBeUndefined();
      jest.setSystemTime(T0 + HOUR);
      expect(await manager.updateSessionMetadata(session.id, { a: 1 })).toBeUndefined();
    });

    it('invalidates one session, then all sessions of a service', async () => {
      const a = await manager.createSession('svc', randomBytes(32));
      await manager.createSession('svc', randomBytes(32));
      await manager.createSession('svc', randomBytes(32));
      const other = await manager.createSession('other', randomBytes(32));
      expect(await manager.invalidateSession(a.id)).toBe(true);
      expect(await manager.invalidateSession(a.id)).toBe(false);
      expect(await manager.invalidateSession('not-a-uuid')).toBe(false);
      expect(await manager.getSession(a.id)).toBeUndefined();
      expect(await manager.invalidateSessionsByServiceId('svc')).toBe(2);
      expect(await manager.invalidateSessionsByServiceId('svc')).toBe(0);
      expect(await manager.getSession(other.id)).toBeDefined();
      expect(await manager.getStats()).toMatchObject({ activeSessions: 1, invalidated: 3 });
      expect(audit.actions()).toEqual(
        expect.arrayContaining(['session_invalidated', 'service_sessions_invalidated']),
      );
    });

    it('validateSession refuses and invalidates a revoked session', async () => {
      const session = await manager.createSession('svc', randomBytes(32));
      await manager.updateSessionMetadata(session.id, { revoked: true });
      await expect(manager.validateSession(session.id)).rejects.toMatchObject({
        reason: 'revoked',
        message: 'Session has been revoked',
      });
      expect(await manager.getSession(session.id)).toBeUndefined();
      expect(audit.actions()).toContain('session_revoked');
    });

    it('validateSessionNow answers without a Promise only on a store that keeps its sessions in this process', async () => {
      const session = await manager.createSession('svc', randomBytes(32));
      jest.setSystemTime(T0 + 60_000);
      const answer = manager.validateSessionNow(session.id);
      if (factory.name === 'memory') {
        expect(answer).toMatchObject({
          id: session.id,
          lastActivity: T0 + 60_000,
          expiresAt: T0 + 60_000 + HOUR,
        });
      } else {
        // A remote store answers through validateSession: nothing was read or slid.
        expect(answer).toBeUndefined();
        expect((await store.get(session.id, T0 + 60_000))?.lastActivity).toBe(T0);
      }
    });

    it('validateSessionNow refuses, counts and audits as validateSession does', async () => {
      const live = await manager.createSession('svc', randomBytes(32));
      const revoked = await manager.createSession('svc', randomBytes(32));
      await manager.updateSessionMetadata(revoked.id, { revoked: true });
      const refusals: [string | undefined, string, string][] = [
        [undefined, 'missing', 'Missing session id'],
        ['nope', 'invalid', 'Invalid session id'],
        ['3b241101-e2bb-4255-8caf-4136c566a962', 'not_found', 'Session not found or expired'],
        [revoked.id, 'revoked', 'Session has been revoked'],
      ];
      if (factory.name !== 'memory') {
        for (const [id] of refusals) expect(manager.validateSessionNow(id)).toBeUndefined();
        expect((await manager.getStats()).rejected).toBe(0);
        return;
      }
      for (const [id, reason, message] of refusals) {
        let error: unknown;
        try {
          manager.validateSessionNow(id);
        } catch (caught) {
          error = caught;
        }
        expect(error).toBeInstanceOf(SessionValidationError);
        expect(error).toMatchObject({ reason, message });
      }
      expect((await manager.getStats()).rejected).toBe(4);
      // The revoked session is gone, as after validateSession; the live one is untouched.
      expect(await manager.getSession(revoked.id)).toBeUndefined();
      expect(audit.actions()).toContain('session_revoked');
      expect(manager.validateSessionNow(live.id)?.id).toBe(live.id);
    });

    it('readSessionNow and claimNonceAndTouchNow answer without a Promise only on a store in this process', async () => {
      const session = await manager.createSession('svc', randomBytes(32));
      const revoked = await manager.createSession('svc', randomBytes(32));
      await manager.updateSessionMetadata(revoked.id, { revoked: true });
      jest.setSystemTime(T0 + 60_000);
      if (factory.name !== 'memory') {
        // A remote store answers through readSession: nothing was read, claimed or refused.
        expect(manager.readSessionNow(session.id)).toBeUndefined();
        expect(manager.readSessionNow(revoked.id)).toBeUndefined();
        expect(() => manager.claimNonceAndTouchNow(session.id, 'n'.repeat(16), 1_000)).toThrow(
          new TypeError(SessionMessages.storeAnswersLater('claimNonceAndTouchNow')),
        );
        expect((await manager.getStats()).rejected).toBe(0);
        return;
      }
      // Read, not slid.
      expect(manager.readSessionNow(session.id)).toMatchObject({
        id: session.id,
        lastActivity: T0,
      });
      const refusals: [string, string, string][] = [
        ['nope', 'invalid', 'Invalid session id'],
        ['3b241101-e2bb-4255-8caf-4136c566a962', 'not_found', 'Session not found or expired'],
        [revoked.id, 'revoked', 'Session has been revoked'],
      ];
      for (const [id, reason, message] of refusals) {
        let error: unknown;
        try {
          manager.readSessionNow(id);
        } catch (caught) {
          error = caught;
        }
        expect(error).toBeInstanceOf(SessionValidationError);
        expect(error).toMatchObject({ reason, message });
      }
      expect((await manager.getStats()).rejected).toBe(3);
      expect(audit.actions()).toContain('session_revoked');
      expect(await manager.getSession(revoked.id)).toBeUndefined();

      const nonce = 'n'.repeat(16);
      const claimed = manager.claimNonceAndTouchNow(session.id, nonce, 1_000);
      expect(claimed).toMatchObject({
        nonceFresh: true,
        session: { id: session.id, lastActivity: T0 + 60_000 },
      });
      expect(manager.claimNonceAndTouchNow(session.id, nonce, 1_000)).toEqual({
        session: undefined,
        nonceFresh: false,
      });
      // The claim ends with its window.
      jest.setSystemTime(T0 + 61_001);
      expect(manager.claimNonceAndTouchNow(session.id, nonce, 1_000).nonceFresh).toBe(true);
      expect(() =>
        manager.claimNonceAndTouchNow('3b241101-e2bb-4255-8caf-4136c566a962', nonce, 1_000),
      ).toThrow('Session not found or expired');
    });

    it.each([
      [undefined, 'missing', 'Missing session id'],
      ['', 'missing', 'Missing session id'],
      ['nope', 'invalid', 'Invalid session id'],
      ['3b241101-e2bb-4255-8caf-4136c566a962', 'not_found', 'Session not found or expired'],
    ])('validateSession(%p) throws %s', async (id, reason, message) => {
      const error = await manager.validateSession(id).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SessionValidationError);
      expect(error).toMatchObject({ reason, message });
      expect((await manager.getStats()).rejected).toBe(1);
    });
  });

  describe('cleanupExpiredSessions', () => {
    it('removes only expired sessions and counts them', async () => {
      const old = await Promise.all(
        Array.from({ length: 5 }, () => manager.createSession('svc', randomBytes(32))),
      );
      jest.setSystemTime(T0 + 30 * 60_000);
      const fresh = await Promise.all(
        Array.from({ length: 3 }, () => manager.createSession('svc', randomBytes(32))),
      );
      // One old session stays alive by activity: cleanup must keep it.
      await manager.getSession(old[0].id);
      jest.setSystemTime(T0 + HOUR);
      expect(await manager.cleanupExpiredSessions()).toBe(4);
      expect(await manager.cleanupExpiredSessions()).toBe(0);
      expect(await manager.getSession(old[0].id)).toBeDefined();
      for (const s of fresh) expect(await manager.getSession(s.id)).toBeDefined();
      expect(await manager.getStats()).toMatchObject({ activeSessions: 4, expired: 4 });
      expect(audit.actions()).toContain('sessions_expired');
    });

    it('removes a session that was kept alive and then went idle', async () => {
      const session = await manager.createSession('svc', randomBytes(32));
      jest.setSystemTime(T0 + 50 * 60_000);
      await manager.getSession(session.id);
      jest.setSystemTime(T0 + HOUR);
      expect(await manager.cleanupExpiredSessions()).toBe(0);
      jest.setSystemTime(T0 + 50 * 60_000 + HOUR);
      expect(await manager.cleanupExpiredSessions()).toBe(1);
      expect(await manager.getStats()).toMatchObject({ activeSessions: 0 });
    });

    it('does not count sessions already invalidated', async () => {
      const session = await manager.createSession('svc', randomBytes(32));
      await manager.invalidateSession(session.id);
      jest.setSystemTime(T0 + 2 * HOUR);
      expect(await manager.cleanupExpiredSessions()).toBe(0);
    });

    it('shares one run between concurrent calls', async () => {
      await manager.createSession('svc', randomBytes(32));
      jest.setSystemTime(T0 + HOUR);
      const spy = jest.spyOn(store, 'deleteExpired');
      const [a, b] = await Promise.all([
        manager.cleanupExpiredSessions(),
        manager.cleanupExpiredSessions(),
      ]);
      expect(spy).toHaveBeenCalledTimes(1);
      expect([a, b]).toEqual([1, 1]);
    });
  });

  describe('secrecy', () => {
    it('keeps the key out of JSON, inspect, spread, Object.keys and audit events', async () => {
      const key = randomBytes(32);
      const session = await manager.createSession('svc', key, { note: 'x' });
      await manager.getSession(session.id);
      await manager.invalidateSession(session.id);
      const outputs = [
        JSON.stringify(session),
        inspect(session, { depth: 10, showHidden: true }),
        JSON.stringify({ ...session }),
        Object.keys(session).join(','),
        JSON.stringify(audit.events),
        inspect(audit.events, { depth: 10 }),
      ];
      for (const output of outputs) {
        expect(output).not.toContain('sessionKey');
        for (const encoding of keyEncodings(key)) expect(output).not.toContain(encoding);
        // Audit events carry a hash reference, never the id itself.
      }
      expect(JSON.stringify(audit.events)).not.toContain(session.id);
      expect(JSON.parse(JSON.stringify(session))).toEqual({
        id: session.id,
        serviceId: 'svc',
        createdAt: T0,
        lastActivity: T0,
        expiresAt: T0 + HOUR,
        metadata: { note: 'x' },
      });
    });

    it('gives a fresh key copy on every read: wiping one leaves the stored key intact', async () => {
      const key = randomBytes(32);
      const session = await manager.createSession('svc', key);
      (await manager.getSession(session.id))?.sessionKey.fill(0);
      session.sessionKey.fill(0);
      expect((await manager.getSession(session.id))?.sessionKey.equals(key)).toBe(true);
    });

    it('hands out frozen metadata', async () => {
      const session = await manager.createSession('svc', randomBytes(32), { tags: ['a'] });
      const read = await manager.getSession(session.id);
      expect(() => {
        (read?.metadata as Record<string, unknown>).revoked = true;
      }).toThrow(TypeError);
      expect(() => (read?.metadata?.tags as string[]).push('b')).toThrow(TypeError);
      expect((await manager.getSession(session.id))?.metadata).toEqual({ tags: ['a'] });
    });

    it('hands out MeshSession instances', async () => {
      const session = await manager.createSession('svc', randomBytes(32));
      expect(session).toBeInstanceOf(MeshSession);
      expect(await manager.getSession(session.id)).toBeInstanceOf(MeshSession);
    });
  });

  it('reports stats as counters since start', async () => {
    const a = await manager.createSession('svc', randomBytes(32));
    await manager.createSession('svc', randomBytes(32));
    await manager.invalidateSession(a.id);
    await manager.validateSession('bad').catch(() => undefined);
    expect(await manager.getStats()).toEqual({
      activeSessions: 1,
      created: 2,
      expired: 0,
      invalidated: 1,
      rejected: 1,
    });
  });

  it('emits session_created as a connection event in the documented event shape', async () => {
    await manager.createSession('client-service', randomBytes(32));
    expect(audit.events[0]).toMatchObject({
      eventType: 'connection',
      serviceId: 'client-service',
      targetServiceId: 'self',
      details: { action: 'session_created', success: true },
    });
    expect(audit.events[0].id).toMatch(UUID_V4);
    expect(audit.events[0].timestamp).toBeInstanceOf(Date);
  });
});

describe('SessionManager constructor', () => {
  it('accepts new SessionManager(ttl), with a memory store', async () => {
    jest.useFakeTimers({ now: T0 });
    const manager = new SessionManager(300_000);
    const session = await manager.createSession('svc', randomBytes(32));
    expect(session.expiresAt).toBe(T0 + 300_000);
    jest.useRealTimers();
  });

  it.each([0, -1, 1.5, NaN])('rejects a timeout of %p, naming the option', (ttl) => {
    expect(() => new SessionManager(ttl)).toThrow('"sessionTimeout"');
  });

  it('rejects a policy whose lifetime cap is below the timeout, naming it', () => {
    expect(
      () =>
        new SessionManager(new MemorySessionStore(), {
          sessionTimeout: 60_000,
          maxSessionLifetime: 30_000,
        }),
    ).toThrow('"maxSessionLifetime" must be at least sessionTimeout (60000 ms)');
  });

  it('rejects a store that is not a SessionStore, naming the argument', () => {
    expect(() => new SessionManager({} as never)).toThrow(TypeError);
    expect(() => new SessionManager({} as never)).toThrow('"store"');
  });
});
