import { jest } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import {
  MemorySessionStore,
  RequestVerifier,
  SessionManager,
  SessionValidationError,
  SignatureVerificationError,
  signRequest,
  type SignedRequestParts,
} from '../../lib/index.js';
import { VerifiedSessionCache } from '../../lib/protocol/signing/verified-session-cache.js';
import { keyEncodings } from '../support/audit-recorder.js';

/*
 * Signature mode with a cache of verified sessions (what the module sets up on a remote store):
 * a session seen lately takes one store call per request, and an ended or revoked session is
 * still refused on its next request.
 */

const HOUR = 3_600_000;

describe('RequestVerifier with a session cache', () => {
  let store: MemorySessionStore;
  let manager: SessionManager;
  let verifier: RequestVerifier;

  beforeEach(() => {
    store = new MemorySessionStore();
    manager = new SessionManager(store, { sessionTimeout: HOUR });
    verifier = new RequestVerifier(manager, { sessionCache: 2 });
  });

  afterEach(() => jest.restoreAllMocks());

  function signed(sessionId: string, sessionKey: Buffer, created?: number): SignedRequestParts {
    return {
      method: 'GET',
      targetUri: 'http://a/x',
      headers: {
        ...signRequest({ method: 'GET', url: 'http://a/x', sessionId, sessionKey, created }),
      },
      rawBody: undefined,
      hasBody: false,
    };
  }

  async function newSession(): Promise<{ id: string; key: Buffer }> {
    const key = randomBytes(32);
    const session = await manager.createSession('svc', key);
    return { id: session.id, key };
  }

  it('reads a session once, then verifies its requests with one store call each', async () => {
    const { id, key } = await newSession();
    const get = jest.spyOn(store, 'get');
    const claim = jest.spyOn(store, 'claimNonceAndTouch');
    for (let i = 0; i < 3; i++) {
      await expect(verifier.verify(signed(id, key))).resolves.toMatchObject({ id });
    }
    expect(get).toHaveBeenCalledTimes(1);
    expect(claim).toHaveBeenCalledTimes(3);
  });

  it('still refuses a replay, a forgery and a stale request of a cached session', async () => {
    const { id, key } = await newSession();
    const first = signed(id, key);
    await verifier.verify(first);
    await expect(verifier.verify(first)).rejects.toMatchObject({
      constructor: SignatureVerificationError,
      reason: 'signature_replayed',
    });
    await expect(verifier.verify(signed(id, randomBytes(32)))).rejects.toMatchObject({
      reason: 'signature_invalid',
    });
    await expect(verifier.verify(signed(id, key, 1))).rejects.toMatchObject({
      reason: 'signature_stale',
    });
    // None of these refusals ends the session: the next genuine request passes, without a read.
    const get = jest.spyOn(store, 'get');
    await expect(verifier.verify(signed(id, key))).resolves.toMatchObject({ id });
    expect(get).not.toHaveBeenCalled();
  });

  it('refuses a cached session that ended since, and reads it again next time', async () => {
    const { id, key } = await newSession();
    await verifier.verify(signed(id, key));
    await manager.invalidateSession(id);
    await expect(verifier.verify(signed(id, key))).rejects.toMatchObject({
      constructor: SessionValidationError,
      reason: 'not_found',
    });
    const get = jest.spyOn(store, 'get');
    await expect(verifier.verify(signed(id, key))).rejects.toMatchObject({ reason: 'not_found' });
    expect(get).toHaveBeenCalledTimes(1);
  });

  it('refuses and invalidates a cached session revoked since', async () => {
    const { id, key } = await newSession();
    await verifier.verify(signed(id, key));
    await manager.updateSessionMetadata(id, { revoked: true });
    await expect(verifier.verify(signed(id, key))).rejects.toMatchObject({ reason: 'revoked' });
    expect(await store.get(id, Date.now())).toBeUndefined();
  });

  it('refuses a cached session that expired, however recent its entry', async () => {
    const { id, key } = await newSession();
    const now = Date.now();
    await verifier.verify(signed(id, key), now);
    const later = now + HOUR + 1;
    const request = signed(id, key, Math.floor(later / 1000));
    await expect(verifier.verify(request, later)).rejects.toMatchObject({ reason: 'not_found' });
  });

  it('reads a session again once its entry is a minute old', async () => {
    const { id, key } = await newSession();
    const now = Date.now();
    await verifier.verify(signed(id, key), now);
    const get = jest.spyOn(store, 'get');
    const later = now + 60_001;
    await verifier.verify(signed(id, key, Math.floor(later / 1000)), later);
    expect(get).toHaveBeenCalledTimes(1);
  });

  it('keeps no cache without the option', async () => {
    const plain = new RequestVerifier(manager);
    const { id, key } = await newSession();
    const get = jest.spyOn(store, 'get');
    await plain.verify(signed(id, key));
    await plain.verify(signed(id, key));
    expect(get).toHaveBeenCalledTimes(2);
  });

  it('never shows a cached key in a dump of the verifier', async () => {
    const { id, key } = await newSession();
    await verifier.verify(signed(id, key));
    const dumps = [inspect(verifier, { depth: 10, showHidden: true }), JSON.stringify(verifier)];
    for (const dump of dumps) {
      for (const encoding of keyEncodings(key)) expect(dump).not.toContain(encoding);
    }
  });
});

describe('VerifiedSessionCache', () => {
  const session = (id: string, key: Buffer) => ({
    id,
    serviceId: 'svc',
    sessionKey: key,
    createdAt: 0,
    lastActivity: 0,
    expiresAt: HOUR,
  });

  it('keeps at most its capacity, dropping the oldest entry and zeroing its key copy', () => {
    const cache = new VerifiedSessionCache(2);
    const keys = [randomBytes(32), randomBytes(32), randomBytes(32)];
    cache.remember(session('a', keys[0] as Buffer), 0);
    const first = cache.find('a', 0)?.key as Buffer;
    cache.remember(session('b', keys[1] as Buffer), 0);
    cache.remember(session('c', keys[2] as Buffer), 0);
    expect(cache.size).toBe(2);
    expect(cache.find('a', 0)).toBeUndefined();
    expect(first.equals(Buffer.alloc(32))).toBe(true);
    // A plain Session's own key is copied, never changed.
    expect(keys[0]?.equals(Buffer.alloc(32))).toBe(false);
    expect(cache.find('c', 0)?.key.equals(keys[2] as Buffer)).toBe(true);
  });

  it('shows only its size in a dump', () => {
    const cache = new VerifiedSessionCache(4);
    const key = randomBytes(32);
    cache.remember(session('a', key), 0);
    expect(inspect(cache)).toBe('VerifiedSessionCache { sessions: 1 }');
    expect(JSON.stringify(cache)).toBe('{"type":"VerifiedSessionCache","sessions":1}');
  });

  it('keeps nothing with a capacity of 0', () => {
    const cache = new VerifiedSessionCache(0);
    cache.remember(session('a', randomBytes(32)), 0);
    expect(cache.size).toBe(0);
  });
});
