import { randomBytes, randomUUID } from 'node:crypto';
import { jest } from '@jest/globals';
import { All, Body, Controller, Get, HttpCode, Post, Req, UseGuards } from '@nestjs/common';
import request from 'supertest';
import {
  CurrentSession,
  MeshSessionModule,
  SessionGuard,
  SessionManager,
  SessionStore,
  signRequest,
  type Session,
} from '../../lib/index.js';
import type { RedisSessionStore } from '../../lib/redis.js';
import { AuditRecorder, keyEncodings } from '../support/audit-recorder.js';
import { fakeDateOnly } from '../support/http-app.js';
import { scanKeys } from '../support/redis-keys.js';
import { storeFactories } from '../support/store-factories.js';
import { countTouches, failStoreCalls, recordStoreCalls } from '../support/store-faults.js';
import { listen, platforms, type RunningApp } from './handshake-fixtures.js';
import { craftSignature } from './signed-request.helpers.js';
import type { RedisKeyLayout } from '../../lib/stores/redis/redis-key-layout.js';

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 0, 1);

@Controller()
@UseGuards(SessionGuard)
class SignedController {
  @Get('whoami')
  whoami(@CurrentSession() session: Session): Session {
    return session;
  }

  @Post('echo')
  @HttpCode(200)
  echo(@Body() body: unknown): unknown {
    return body;
  }

  @All('any')
  @HttpCode(200)
  any(@Req() req: { method: string }): { method: string } {
    return { method: req.method };
  }
}

const combos = platforms.flatMap((platform) =>
  storeFactories.map((factory) => ({
    platform,
    factory,
    label: `${platform.name} / ${factory.name}`,
  })),
);

/** The nonce keys a Redis store holds, found with SCAN on every master. */
function redisNonceKeys(store: SessionStore): Promise<string[]> {
  const redis = store as RedisSessionStore;
  const prefix = (redis as unknown as { keys: RedisKeyLayout }).keys.prefix;
  return scanKeys(redis.client, `${prefix}{*}:n:*`);
}

describe.each(combos)('SessionGuard in signature mode on $label', ({ platform, factory }) => {
  let running: Omit<RunningApp, 'audit'>;
  let store: SessionStore;
  let manager: SessionManager;
  let audit: AuditRecorder;
  let n = 0;

  beforeAll(async () => {
    store = await factory.create();
    audit = new AuditRecorder();
    running = await listen(
      {
        imports: [
          MeshSessionModule.forRoot({
            serviceId: 'greeter',
            requestSigning: true,
            cleanupInterval: false,
            sessionTimeout: HOUR,
            store,
            storeTimeout: 500,
            rateLimit: { maxRequests: 4, windowMs: 60_000 },
            monitoring: { adapters: [audit] },
          }),
        ],
        controllers: [SignedController],
      },
      platform,
    );
    manager = running.app.get(SessionManager);
  });

  afterAll(async () => {
    await running.close();
    await factory.teardown?.();
  });

  afterEach(() => {
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  /** A fresh session of a fresh service, so every test has its own rate-limit budget. */
  async function newSession(serviceId = `svc-${++n}`): Promise<{ id: string; key: Buffer }> {
    const key = randomBytes(32);
    const session = await manager.createSession(serviceId, key);
    return { id: session.id, key };
  }

  function send(method: string, path: string, headers: Record<string, string>, body?: Buffer) {
    const req = request(running.url)
      [method.toLowerCase() as 'get' | 'post' | 'put' | 'delete' | 'patch'](path)
      .set(headers);
    // As a string: superagent would re-serialise a Buffer as JSON.
    return body === undefined
      ? req
      : req.set('content-type', 'application/json').send(body.toString('utf8'));
  }

  function signed(
    method: string,
    path: string,
    session: { id: string; key: Buffer },
    body?: Buffer,
    nonce?: string,
  ): Record<string, string> {
    return {
      ...signRequest({
        method,
        url: running.url + path,
        body,
        sessionId: session.id,
        sessionKey: session.key,
        nonce,
      }),
    };
  }

  const expect401 = async (
    res: Promise<request.Response> | request.Test,
    message: string | RegExp,
  ): Promise<void> => {
    const answer = await res;
    expect(answer.status).toBe(401);
    expect(answer.body).toMatchObject({ statusCode: 401, error: 'Unauthorized' });
    expect(answer.body.message).toMatch(message);
  };

  it('lets a signed GET through, slides the session, and never returns the key', async () => {
    fakeDateOnly(jest, T0);
    const session = await newSession();
    jest.setSystemTime(T0 + 60_000);
    const res = await send('GET', '/whoami', signed('GET', '/whoami', session));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: session.id, lastActivity: T0 + 60_000 });
    expect(res.body.expiresAt).toBe(T0 + 60_000 + HOUR);
    for (const encoding of keyEncodings(session.key)) expect(res.text).not.toContain(encoding);
  });

  it('lets a signed POST with a body through', async () => {
    const session = await newSession();
    const body = Buffer.from(JSON.stringify({ hello: 'wörld', list: [1, 2] }));
    const res = await send('POST', '/echo', signed('POST', '/echo', session, body), body);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ hello: 'wörld', list: [1, 2] });
  });

  it('refuses a request without a signature, even with a valid session id', async () => {
    const session = await newSession();
    await expect401(
      send('GET', '/whoami', { 'x-mesh-session-id': session.id }),
      'Missing request signature',
    );
  });

  it('refuses a signature that covers nothing, though its HMAC is right', async () => {
    const session = await newSession();
    const headers = craftSignature({
      method: 'GET',
      url: `${running.url}/whoami`,
      sessionId: session.id,
      key: session.key,
      components: [],
    });
    await expect401(send('GET', '/whoami', headers), /must cover/);
  });

  it.each([
    ['@method', ['@target-uri']],
    ['@target-uri', ['@method']],
    ['content-digest', ['@method', '@target-uri']],
  ])('refuses a signature lacking %s, though its HMAC is right', async (_missing, components) => {
    const session = await newSession();
    const body = Buffer.from('{"a":1}');
    const headers = craftSignature({
      method: 'POST',
      url: `${running.url}/echo`,
      body,
      sessionId: session.id,
      key: session.key,
      components,
    });
    await expect401(send('POST', '/echo', headers, body), /must cover/);
  });

  it.each(['created', 'nonce', 'keyid', 'alg'])(
    'refuses a signature lacking the parameter %s',
    async (param) => {
      const session = await newSession();
      const headers = craftSignature({
        method: 'GET',
        url: `${running.url}/whoami`,
        sessionId: session.id,
        key: session.key,
        params: { [param]: undefined },
      });
      await expect401(send('GET', '/whoami', headers), /must cover/);
    },
  );

  it.each(['hmac-sha512', 'rsa-pss-sha512', 'ed25519', 'HMAC-SHA256'])(
    'refuses another algorithm: %s',
    async (alg) => {
      const session = await newSession();
      const headers = craftSignature({
        method: 'GET',
        url: `${running.url}/whoami`,
        sessionId: session.id,
        key: session.key,
        params: { alg },
      });
      await expect401(
        send('GET', '/whoami', headers),
        'Unsupported signature algorithm: only hmac-sha256',
      );
    },
  );

  it('refuses alg given as a token instead of a string', async () => {
    const session = await newSession();
    const headers = craftSignature({
      method: 'GET',
      url: `${running.url}/whoami`,
      sessionId: session.id,
      key: session.key,
      algAsToken: true,
    });
    await expect401(send('GET', '/whoami', headers), /Malformed|algorithm/);
  });

  it('refuses a flipped body byte, with or without a recomputed digest', async () => {
    const session = await newSession();
    const body = Buffer.from('{"amount":100}');
    const headers = signed('POST', '/echo', session, body);
    const flipped = Buffer.from(body);
    flipped[11] ^= 0x01; // '1' -> '0'
    await expect401(
      send('POST', '/echo', headers, flipped),
      'Content-Digest does not match the body',
    );

    const again = signed('POST', '/echo', session, body);
    const recomputed = signRequest({
      method: 'POST',
      url: `${running.url}/echo`,
      body: flipped,
      sessionId: session.id,
      sessionKey: randomBytes(32),
    });
    await expect401(
      send(
        'POST',
        '/echo',
        { ...again, 'content-digest': recomputed['content-digest'] as string },
        flipped,
      ),
      'Invalid request signature',
    );
  });

  it('refuses a changed path or query', async () => {
    const session = await newSession();
    await expect401(
      send('GET', '/any?x=2', signed('GET', '/any?x=1', session)),
      'Invalid request signature',
    );
    await expect401(
      send('GET', '/whoami', signed('GET', '/any', session)),
      'Invalid request signature',
    );
  });

  it('refuses a changed method', async () => {
    const session = await newSession();
    await expect401(
      send('GET', '/any', signed('DELETE', '/any', session)),
      'Invalid request signature',
    );
  });

  it('refuses a changed host', async () => {
    const session = await newSession();
    const headers = signRequest({
      method: 'GET',
      url: running.url.replace('127.0.0.1', 'localhost') + '/any',
      sessionId: session.id,
      sessionKey: session.key,
    });
    await expect401(send('GET', '/any', { ...headers }), 'Invalid request signature');
  });

  it.each([
    ['stale', -120],
    ['future', 120],
  ])('refuses a %s created', async (_name, offset) => {
    const session = await newSession();
    const headers = signRequest({
      method: 'GET',
      url: `${running.url}/whoami`,
      sessionId: session.id,
      sessionKey: session.key,
      created: Math.floor(Date.now() / 1000) + offset,
    });
    await expect401(send('GET', '/whoami', { ...headers }), /outside the allowed clock skew/);
  });

  it('refuses an expires in the past', async () => {
    const session = await newSession();
    const now = Math.floor(Date.now() / 1000);
    const headers = craftSignature({
      method: 'GET',
      url: `${running.url}/whoami`,
      sessionId: session.id,
      key: session.key,
      params: { expires: now - 5 },
    });
    await expect401(send('GET', '/whoami', headers), /outside the allowed clock skew/);
  });

  it('refuses a replayed nonce, whatever else changes', async () => {
    const session = await newSession();
    const headers = signed('GET', '/whoami', session);
    expect((await send('GET', '/whoami', headers)).status).toBe(200);
    await expect401(send('GET', '/whoami', headers), 'Request nonce already used');
    const nonce = /nonce="([^"]+)"/.exec(headers['signature-input'])?.[1] as string;
    const sameNonce = signed('GET', '/any', session, undefined, nonce);
    await expect401(send('GET', '/any', sameNonce), 'Request nonce already used');
  });

  it.each([0, 16, 31, 33, 64])('refuses an HMAC of %i bytes', async (length) => {
    const session = await newSession();
    const headers = craftSignature({
      method: 'GET',
      url: `${running.url}/whoami`,
      sessionId: session.id,
      key: session.key,
      hmacLength: length,
    });
    await expect401(send('GET', '/whoami', headers), /Invalid request signature|Malformed/);
  });

  it('refuses a request signed with another key', async () => {
    const session = await newSession();
    await expect401(
      send('GET', '/whoami', signed('GET', '/whoami', { id: session.id, key: randomBytes(32) })),
      'Invalid request signature',
    );
  });

  it('refuses an invalidated session, and an unknown or malformed keyid', async () => {
    const session = await newSession();
    await manager.invalidateSession(session.id);
    await expect401(
      send('GET', '/whoami', signed('GET', '/whoami', session)),
      'Session not found or expired',
    );
    await expect401(
      send('GET', '/whoami', signed('GET', '/whoami', { id: randomUUID(), key: session.key })),
      'Session not found or expired',
    );
    await expect401(
      send('GET', '/whoami', signed('GET', '/whoami', { id: 'not-a-uuid', key: session.key })),
      'Invalid session id',
    );
  });

  it('refuses an expired session', async () => {
    fakeDateOnly(jest, T0);
    const session = await newSession();
    jest.setSystemTime(T0 + HOUR);
    await expect401(
      send('GET', '/whoami', signed('GET', '/whoami', session)),
      'Session not found or expired',
    );
  });

  it('refuses a revoked session, and invalidates it', async () => {
    const session = await newSession();
    await manager.updateSessionMetadata(session.id, { revoked: true });
    await expect401(
      send('GET', '/whoami', signed('GET', '/whoami', session)),
      'Session has been revoked',
    );
    await expect401(
      send('GET', '/whoami', signed('GET', '/whoami', session)),
      'Session not found or expired',
    );
  });

  it('refuses duplicated or oversized signature headers', async () => {
    const session = await newSession();
    const headers = signed('GET', '/whoami', session);
    // Two instances of a header reach the app joined by ", ".
    for (const name of ['signature', 'signature-input'] as const) {
      const twice = new Headers(headers);
      twice.append(name, headers[name]);
      const doubled = await fetch(`${running.url}/whoami`, { headers: twice });
      expect(doubled.status).toBe(401);
      expect(await doubled.json()).toMatchObject({ message: expect.stringMatching(/Malformed/) });
    }
    const long = `${headers['signature-input']};tag="${'x'.repeat(2_000)}"`;
    await expect401(send('GET', '/whoami', { ...headers, 'signature-input': long }), /Malformed/);
  });

  it('rate-limits on session.serviceId: two sessions of one service share the budget', async () => {
    const a = await newSession('limited-signed');
    const b = await newSession('limited-signed');
    const other = await newSession();
    const statuses: number[] = [];
    for (const session of [a, b, a, b, a]) {
      statuses.push((await send('GET', '/whoami', signed('GET', '/whoami', session))).status);
    }
    expect(statuses).toEqual([200, 200, 200, 200, 429]);
    expect((await send('GET', '/whoami', signed('GET', '/whoami', other))).status).toBe(200);
    expect(audit.events).toContainEqual(
      expect.objectContaining({ eventType: 'rate_limit', serviceId: 'limited-signed' }),
    );
  });

  it.each(['get', 'claimNonceAndTouch'] as const)(
    'answers 503 when the store fails in %s, and never lets the request through',
    async (method) => {
      const session = await newSession();
      failStoreCalls(store, method, new Error('store down'));
      const res = await send('GET', '/whoami', signed('GET', '/whoami', session));
      expect(res.status).toBe(503);
      expect(res.headers['retry-after']).toBe('1');
      expect(res.body.message).toBe('Session store unavailable');
    },
  );

  it('claims no nonce for requests with a known session id and fresh nonces but a bad signature', async () => {
    const session = await newSession();
    const claims = recordStoreCalls(store, 'claimNonceAndTouch');
    const claim = jest.spyOn(store, 'claimNonce');
    const touches = countTouches(store);
    const redis = factory.name !== 'memory';
    const keysBefore = redis ? await redisNonceKeys(store) : [];
    const nonces: string[] = [];
    for (let i = 0; i < 12; i++) {
      const nonce = randomBytes(32).toString('base64url');
      nonces.push(nonce);
      const forged = signed(
        'GET',
        '/whoami',
        { id: session.id, key: randomBytes(32) },
        undefined,
        nonce,
      );
      await expect401(send('GET', '/whoami', forged), 'Invalid request signature');
    }
    expect(claims()).toEqual([]);
    expect(claim).not.toHaveBeenCalled();
    expect(touches()).toBe(0);
    // Keys of earlier tests may lapse meanwhile; none may appear.
    const added = async () =>
      (await redisNonceKeys(store)).filter((key) => !keysBefore.includes(key));
    if (redis) expect(await added()).toEqual([]);
    // None of those nonces was spent: signed with the key, each still goes through once.
    for (const nonce of nonces.slice(0, 3)) {
      const good = signed('GET', '/whoami', session, undefined, nonce);
      expect((await send('GET', '/whoami', good)).status).toBe(200);
    }
    // The counts above see a claim whichever way the guard makes it.
    expect(claims()).toHaveLength(3);
    if (redis) expect(await added()).toHaveLength(3);
  });

  it('audits refusals with their reason and never the key', async () => {
    const session = await newSession('audited');
    const before = audit.events.length;
    await send(
      'GET',
      '/whoami',
      signed('GET', '/whoami', { id: session.id, key: randomBytes(32) }),
    );
    const events = audit.events.slice(before);
    expect(events).toContainEqual(
      expect.objectContaining({
        eventType: 'error',
        serviceId: 'audited',
        details: expect.objectContaining({ error: 'signature_invalid' }),
      }),
    );
    const text = JSON.stringify(audit.events);
    for (const encoding of keyEncodings(session.key)) expect(text).not.toContain(encoding);
  });
});

describe.each(platforms)('Signature mode without rawBody on $name', (platform) => {
  it('refuses a body it cannot verify with a 401, and says how to fix it in the log', async () => {
    const { Test } = await import('@nestjs/testing');
    const { CapturingLogger } = await import('./handshake-fixtures.js');
    const logger = new CapturingLogger();
    const moduleRef = await Test.createTestingModule({
      imports: [MeshSessionModule.forRoot({ requestSigning: true, cleanupInterval: false })],
      controllers: [SignedController],
    }).compile();
    const app = moduleRef.createNestApplication(platform.create(), { logger });
    await app.listen(0, '127.0.0.1');
    const url = await app.getUrl();
    try {
      const key = randomBytes(32);
      const session = await app.get(SessionManager).createSession('caller', key);
      const body = Buffer.from('{"a":1}');
      const headers = signRequest({
        method: 'POST',
        url: `${url}/echo`,
        body,
        sessionId: session.id,
        sessionKey: key,
      });
      const res = await request(url)
        .post('/echo')
        .set({ ...headers })
        .set('content-type', 'application/json')
        .send(body.toString());
      expect(res.status).toBe(401);
      expect(res.body.message).toBe('Request body cannot be verified');
      expect(logger.lines.join('\n')).toMatch(/rawBody: true/);
      // A request without a body still verifies.
      const get = signRequest({
        method: 'GET',
        url: `${url}/whoami`,
        sessionId: session.id,
        sessionKey: key,
      });
      expect(
        (
          await request(url)
            .get('/whoami')
            .set({ ...get })
        ).status,
      ).toBe(200);
    } finally {
      await app.close();
    }
  });
});
