import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import { Readable } from 'node:stream';
import { jest } from '@jest/globals';
import { Controller, Get } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import request from 'supertest';
import {
  HANDSHAKE_CONTENT_TYPE,
  HandshakeService,
  MeshSessionModule,
  type RateLimiter,
  SessionGuard,
  SessionManager,
  signRequest,
  type ClientHello,
  SessionStore,
  type ServerHello,
} from '../../lib/index.js';
import { StoreFailureLog } from '../../lib/guard/store-failure-log.js';
import { createClientHello } from '../../lib/protocol/handshake/client-handshake.js';
import { createEphemeralKeyPair } from '../../lib/protocol/handshake/ephemeral-keys.js';
import { type ParsedClientHello } from '../../lib/protocol/handshake/handshake-hello.interface.js';
import { parseServerHello } from '../../lib/protocol/handshake/hello-codec.js';
import { verifyWithAnyKey } from '../../lib/protocol/handshake/identity-signatures.js';
import { deriveSessionKey } from '../../lib/protocol/handshake/session-key-derivation.js';
import { serverHelloBytes } from '../../lib/protocol/handshake/transcript-encoding.js';
import { AuditRecorder, keyEncodings } from '../support/audit-recorder.js';
import { teardownStoreFactories, withEveryStore } from '../support/store-factories.js';
import { failStoreCalls } from '../support/store-faults.js';
import { keys, listen, platforms, startGreeter, type RunningApp } from './handshake-fixtures.js';

const GENERIC_401 = { statusCode: 401, message: 'Handshake failed', error: 'Unauthorized' };

function hello(
  overrides: Partial<Parameters<typeof createClientHello>[0]> & { signer?: KeyObject } = {},
): ParsedClientHello & { ephemeralPrivate: KeyObject } {
  const ephemeral = overrides.ephemeral ?? createEphemeralKeyPair();
  const parsed = createClientHello({
    clientId: 'caller',
    serverId: 'greeter',
    identityKey: overrides.signer ?? createPrivateKey(keys.caller.privateKey),
    ephemeral,
    clientVersion: 'test/1',
    ...overrides,
  });
  return { ...parsed, ephemeralPrivate: ephemeral.privateKey };
}

/** A low-order X25519 point, signed by the real caller key. */
function lowOrderHello(point: string): ParsedClientHello {
  const { privateKey } = generateKeyPairSync('x25519');
  return hello({ ephemeral: { privateKey, publicKey: Buffer.from(point, 'hex') } });
}

/** Every platform against every store (memory, Redis, Redis Cluster). */
const combos = withEveryStore(platforms);

// The Redis servers start once for the whole file; every block gets its own empty store.
afterAll(teardownStoreFactories);

describe.each(combos)('Handshake endpoint on $label', ({ platform, factory }) => {
  let greeter: RunningApp;
  let manager: SessionManager;

  beforeAll(async () => {
    greeter = await startGreeter(platform, { store: await factory.create() });
    manager = greeter.app.get(SessionManager);
  });

  afterAll(async () => {
    await greeter.close();
  });

  afterEach(() => {
    jest.restoreAllMocks();
  });

  const post = (body: string | object, contentType = HANDSHAKE_CONTENT_TYPE) =>
    request(greeter.url)
      .post('/mesh/handshake')
      .set('content-type', contentType)
      .send(typeof body === 'string' ? body : JSON.stringify(body));

  /**
   * Ends the current burst of failed-handshake log lines, so that the next failure is logged in
   * full (within a burst, failures after the first are only counted and summarised).
   */
  function endLogBurst(): void {
    (
      greeter.app.get(HandshakeService) as unknown as { failures: { resolve(): void } }
    ).failures.resolve();
  }

  /** Sends a hello, expects the generic 401, and returns the logged and audited reason. */
  async function expectFailure(body: string | object, reason: RegExp): Promise<void> {
    const sessionsBefore = (await manager.getStats()).created;
    endLogBurst();
    const logsBefore = greeter.logger.lines.length;
    const eventsBefore = greeter.audit.events.length;
    const res = await post(body);
    expect(res.status).toBe(401);
    expect(res.body).toEqual(GENERIC_401);
    expect(res.text).not.toMatch(reason);
    const log = greeter.logger.lines.slice(logsBefore).join('\n');
    expect(log).toMatch(/Handshake from \S*127\.0\.0\.1 \(claims .*\) failed: /);
    expect(log).toMatch(reason);
    const failed = greeter.audit.events
      .slice(eventsBefore)
      .filter((e) => e.details.action === 'handshake_failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({
      eventType: 'connection',
      details: { success: false, error: expect.stringMatching(reason) },
    });
    expect((await manager.getStats()).created).toBe(sessionsBefore);
  }

  it('completes a handshake: signed reply, shared key, session with the handshake facts', async () => {
    const client = hello();
    const res = await post(client.hello);
    expect(res.status).toBe(201);
    expect(res.headers['cache-control']).toBe('no-store');
    const reply = parseServerHello(res.body as ServerHello);
    const signed = serverHelloBytes(client, {
      sessionId: reply.hello.sessionId,
      ephemeralKey: reply.ephemeralKey,
      nonce: reply.nonce,
      expiresAt: reply.hello.expiresAt,
    });
    expect(
      verifyWithAnyKey(signed, reply.signature, [createPublicKey(keys.greeter.publicKey)]),
    ).toBe(true);
    const key = deriveSessionKey({
      ownPrivateKey: client.ephemeralPrivate,
      peerPublicKey: reply.ephemeralKey,
      client,
      serverEphemeralKey: reply.ephemeralKey,
      serverNonce: reply.nonce,
    });
    // Read without sliding, to compare expiresAt with the reply.
    const session = (await manager.getSessionsByServiceId('caller')).find(
      (candidate) => candidate.id === reply.hello.sessionId,
    );
    expect(session?.sessionKey.equals(key)).toBe(true);
    expect(session?.serviceId).toBe('caller');
    expect(session?.expiresAt).toBe(reply.hello.expiresAt);
    expect(session?.metadata).toEqual({
      peerAddress: expect.stringMatching(/127\.0\.0\.1/),
      clientVersion: 'test/1',
      handshakeVersion: 1,
    });
    const seen = [res.text, ...greeter.logger.lines, JSON.stringify(greeter.audit.events)].join(
      '\n',
    );
    for (const encoding of keyEncodings(key)) expect(seen).not.toContain(encoding);
    expect(Object.keys(res.body as object).sort()).toEqual(
      ['version', 'sessionId', 'ephemeralKey', 'nonce', 'expiresAt', 'signature'].sort(),
    );
  });

  it('accepts the second pinned key of a service (rotation)', async () => {
    const res = await post(hello({ signer: createPrivateKey(keys.callerNext.privateKey) }).hello);
    expect(res.status).toBe(201);
  });

  it('accepts a well-formed hello sent as application/json', async () => {
    const res = await post(hello().hello, 'application/json');
    expect(res.status).toBe(201);
  });

  it('fails an unknown service', async () => {
    const stranger = hello({
      clientId: 'stranger',
      signer: createPrivateKey(keys.stranger.privateKey),
    });
    await expectFailure(stranger.hello, /unknown service/);
  });

  it('fails a known service signing with the wrong key', async () => {
    await expectFailure(
      hello({ signer: createPrivateKey(keys.stranger.privateKey) }).hello,
      /signature does not verify/,
    );
  });

  it('fails a tampered ephemeral key', async () => {
    const message = hello().hello;
    const other = createEphemeralKeyPair().publicKey.toString('base64url');
    await expectFailure({ ...message, ephemeralKey: other }, /signature does not verify/);
  });

  it('fails a tampered nonce, timestamp or client version', async () => {
    const message = hello().hello;
    await expectFailure({ ...message, timestamp: message.timestamp - 1 }, /signature/);
    await expectFailure({ ...message, clientVersion: 'test/2' }, /signature/);
    const nonce = Buffer.alloc(32, 7).toString('base64url');
    await expectFailure({ ...message, nonce }, /signature/);
  });

  it('fails a hello meant for another service', async () => {
    await expectFailure(hello({ serverId: 'billing' }).hello, /wrong target service "billing"/);
  });

  it('fails a stale or a future timestamp', async () => {
    await expectFailure(hello({ timestamp: Date.now() - 61_000 }).hello, /timestamp .* off/);
    await expectFailure(hello({ timestamp: Date.now() + 61_000 }).hello, /timestamp .* off/);
  });

  it('fails a replayed hello', async () => {
    const message = hello().hello;
    expect((await post(message)).status).toBe(201);
    await expectFailure(message, /replayed/);
  });

  it.each([
    ['zero', '0000000000000000000000000000000000000000000000000000000000000000'],
    ['one', '0100000000000000000000000000000000000000000000000000000000000000'],
    ['order 8', 'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800'],
    ['p - 1', 'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f'],
  ])('fails a low-order X25519 key (%s)', async (_name, point) => {
    await expectFailure(lowOrderHello(point).hello, /low-order/);
  });

  it.each([
    ['truncated JSON', '{"version":1,"clientId":', /not valid JSON/],
    ['not JSON at all', 'hello there', /not valid JSON/],
    ['a JSON array', '[1,2,3]', /not a JSON object/],
    ['JSON null', 'null', /not a JSON object/],
    ['an empty body', '', /no readable body|not valid JSON/],
  ])('fails malformed JSON: %s', async (_name, body, reason) => {
    await expectFailure(body, reason);
  });

  it('fails a hello with a missing, extra or mistyped field', async () => {
    const unsigned: Partial<ClientHello> = { ...hello().hello };
    delete unsigned.signature;
    await expectFailure(unsigned, /lacks signature/);
    await expectFailure({ ...hello().hello, admin: true }, /unexpected field/);
    await expectFailure({ ...hello().hello, timestamp: '1' }, /timestamp is not a time/);
    await expectFailure({ ...hello().hello, version: 2 }, /unsupported protocol version/);
    await expectFailure({ ...hello().hello, nonce: 'AAAA' }, /nonce is not 32 bytes/);
    await expectFailure({ ...hello().hello, ephemeralKey: 42 }, /ephemeralKey is not 32 bytes/);
  });

  it('fails oversized fields and oversized bodies', async () => {
    await expectFailure({ ...hello().hello, clientId: 'c'.repeat(300) }, /clientId is not/);
    await expectFailure({ ...hello().hello, clientVersion: 'v'.repeat(65) }, /clientVersion/);
    const nonce = Buffer.alloc(64, 1).toString('base64url');
    await expectFailure({ ...hello().hello, nonce }, /nonce is not 32 bytes/);
    await expectFailure(
      { ...hello().hello, clientVersion: 'v'.repeat(10_000) },
      /larger than 4096/,
    );
  });

  it('fails an oversized body sent without Content-Length (chunked)', async () => {
    const chunks = Readable.from(Array.from({ length: 20 }, () => Buffer.alloc(1_000, 0x41)));
    const res = await fetch(`${greeter.url}/mesh/handshake`, {
      method: 'POST',
      headers: { 'content-type': HANDSHAKE_CONTENT_TYPE },
      body: Readable.toWeb(chunks) as ReadableStream,
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual(GENERIC_401);
  });

  it('answers 503 with Retry-After: 1 when the store or the limiter fails, and creates nothing', async () => {
    const service = greeter.app.get(HandshakeService);
    const limiter = (service as unknown as { limiter: { pairs: RateLimiter } }).limiter.pairs;
    const storeFailures = greeter.app.get(StoreFailureLog);
    const failures = [
      () =>
        jest
          .spyOn(greeter.app.get(SessionStore), 'claimNonce')
          .mockRejectedValueOnce(new Error('nonce down')),
      () => failStoreCalls(greeter.app.get(SessionStore), 'create', new Error('create down')),
      () => jest.spyOn(limiter, 'checkLimit').mockRejectedValueOnce(new Error('limiter down')),
    ];
    for (const [i, fail] of failures.entries()) {
      const created = (await manager.getStats()).created;
      // Each failure here starts an outage of its own in the log, and no summary of earlier
      // failed handshakes (written by a timer when its interval ends) can land among its lines.
      storeFailures.answered();
      endLogBurst();
      const logsBefore = greeter.logger.lines.length;
      fail();
      const res = await post(hello().hello);
      expect(res.status).toBe(503);
      expect(res.headers['retry-after']).toBe('1');
      expect(res.body).toEqual({
        statusCode: 503,
        message: 'Session store unavailable',
        error: 'Service Unavailable',
      });
      const log = greeter.logger.lines.slice(logsBefore);
      expect(log).toEqual([
        expect.stringMatching(
          new RegExp(`^warn Session store failed: ${['nonce', 'create', 'limiter'][i]} down`),
        ),
      ]);
      expect((await manager.getStats()).created).toBe(created);
      jest.restoreAllMocks();
    }
    // And then it works again.
    expect((await post(hello().hello)).status).toBe(201);
  });

  it('logs an unexpected error as such, at error level, and still answers 503 with Retry-After', async () => {
    const service = greeter.app.get(HandshakeService);
    jest
      .spyOn(service as unknown as { complete(): Promise<unknown> }, 'complete')
      .mockRejectedValueOnce(new TypeError('a bug'));
    // A summary of earlier failed handshakes would otherwise be written, by a timer, whenever
    // its interval ends: on a slow run, among this test's lines.
    endLogBurst();
    const logsBefore = greeter.logger.lines.length;
    const res = await post(hello().hello);
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('1');
    expect(res.body).toMatchObject({ statusCode: 503, message: 'Session store unavailable' });
    const log = greeter.logger.lines.slice(logsBefore);
    expect(log).toHaveLength(1);
    expect(log[0]).toMatch(
      /^error Handshake failed on an unexpected error \(answered 503\): TypeError: a bug/,
    );
    expect(log[0]).not.toMatch(/Session store failed/);
  });

  it('ends the session on a signed DELETE, and refuses an unsigned one', async () => {
    const client = hello();
    const reply = parseServerHello((await post(client.hello)).body as ServerHello);
    const key = deriveSessionKey({
      ownPrivateKey: client.ephemeralPrivate,
      peerPublicKey: reply.ephemeralKey,
      client,
      serverEphemeralKey: reply.ephemeralKey,
      serverNonce: reply.nonce,
    });
    const id = reply.hello.sessionId;
    const unsigned = await request(greeter.url)
      .delete('/mesh/handshake')
      .set('x-mesh-session-id', id);
    expect(unsigned.status).toBe(401);
    expect(unsigned.body.message).toBe('Missing request signature');

    const url = `${greeter.url}/mesh/handshake`;
    const headers = signRequest({ method: 'DELETE', url, sessionId: id, sessionKey: key });
    const res = await request(greeter.url)
      .delete('/mesh/handshake')
      .set({ ...headers });
    expect(res.status).toBe(204);
    expect(await manager.getSession(id)).toBeUndefined();
  });
});

@Controller()
class OpenController {
  @Get('ping')
  ping(): { ok: true } {
    return { ok: true };
  }
}

describe.each(combos)('Handshake rate limit on $label', ({ platform, factory }) => {
  // A store per greeter: closing the app closes its store.
  const limitedGreeter = async (handshake: Record<string, unknown>) =>
    startGreeter(platform, {
      store: await factory.create(),
      handshake: {
        privateKey: keys.greeter.privateKey,
        trustedServices: { caller: keys.caller.publicKey, billing: keys.stranger.publicKey },
        ...handshake,
      },
    });
  const send = (greeter: RunningApp, body: string | object) =>
    request(greeter.url)
      .post('/mesh/handshake')
      .set('content-type', HANDSHAKE_CONTENT_TYPE)
      .send(typeof body === 'string' ? body : JSON.stringify(body));
  const billingHello = () =>
    hello({ clientId: 'billing', signer: createPrivateKey(keys.stranger.privateKey) }).hello;

  it('rate-limits handshakes per (peer address, claimed service), with Retry-After', async () => {
    const greeter = await limitedGreeter({ rateLimit: { maxRequests: 3, windowMs: 60_000 } });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) {
        const forged = hello({ signer: createPrivateKey(keys.stranger.privateKey) }).hello;
        statuses.push((await send(greeter, i === 0 ? hello().hello : forged)).status);
      }
      const limited = await send(greeter, hello().hello);
      expect(statuses).toEqual([201, 401, 401]);
      expect(limited.status).toBe(429);
      expect(limited.body).toMatchObject({ statusCode: 429, message: 'Too many handshakes' });
      expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(59);
      expect(greeter.audit.events).toContainEqual(
        expect.objectContaining({
          eventType: 'rate_limit',
          details: expect.objectContaining({
            action: 'handshake_rate_limited',
            metadata: expect.objectContaining({ limit: 'pair' }),
          }),
        }),
      );
    } finally {
      await greeter.close();
    }
  });

  it('never lets bad hellos from a neighbour lock out another pinned service at its address', async () => {
    const greeter = await limitedGreeter({ rateLimit: { maxRequests: 3, windowMs: 60_000 } });
    try {
      // A misbehaving neighbour: forged hellos claiming "caller", junk, and invented ids.
      const forged = hello({ signer: createPrivateKey(keys.stranger.privateKey) }).hello;
      const invented = hello({ clientId: 'nobody' }).hello;
      for (const body of [forged, 'junk', invented, forged, 'junk', invented, forged, forged]) {
        await send(greeter, body);
      }
      expect((await send(greeter, forged)).status).toBe(429);
      expect((await send(greeter, 'junk')).status).toBe(429);
      // Another pinned service behind the same address still gets its session.
      const billing = await send(greeter, billingHello());
      expect(billing.status).toBe(201);
      expect(billing.body).toMatchObject({ sessionId: expect.any(String) });
    } finally {
      await greeter.close();
    }
  });

  it('checks at most maxFailuresPerSecond failed hellos, while fresh pairs are still checked', async () => {
    const greeter = await limitedGreeter({
      rateLimit: { maxRequests: 1_000, windowMs: 60_000 },
      maxFailuresPerSecond: 2,
    });
    try {
      const forged = hello({ signer: createPrivateKey(keys.stranger.privateKey) }).hello;
      const statuses = [];
      for (let i = 0; i < 3; i++) statuses.push((await send(greeter, forged)).status);
      expect(statuses).toEqual([401, 401, 429]);
      expect(greeter.audit.events).toContainEqual(
        expect.objectContaining({
          eventType: 'rate_limit',
          details: expect.objectContaining({
            metadata: expect.objectContaining({ limit: 'failures' }),
          }),
        }),
      );
      // Only the pairs that failed are held back: a service with no failure is still checked.
      expect((await send(greeter, billingHello())).status).toBe(201);
    } finally {
      await greeter.close();
    }
  });
});

describe.each(platforms)('Handshake options on $name', (platform) => {
  it('serves a custom path, with the guard global through APP_GUARD', async () => {
    const audit = new AuditRecorder();
    const running = await listen(
      {
        imports: [
          MeshSessionModule.forRoot({
            serviceId: 'greeter',
            cleanupInterval: false,
            monitoring: { adapters: [audit] },
            handshake: {
              privateKey: keys.greeter.privateKey,
              trustedServices: { caller: keys.caller.publicKey },
              path: '/internal/mesh-hello',
            },
          }),
        ],
        controllers: [OpenController],
        providers: [{ provide: APP_GUARD, useExisting: SessionGuard }],
      },
      platform,
    );
    try {
      const client = hello();
      const opened = await request(running.url)
        .post('/internal/mesh-hello')
        .set('content-type', HANDSHAKE_CONTENT_TYPE)
        .send(JSON.stringify(client.hello));
      expect(opened.status).toBe(201);
      expect((await request(running.url).post('/mesh/handshake').send('x')).status).toBe(404);
      expect((await request(running.url).get('/ping')).status).toBe(401);

      // The DELETE passes the global guard and the route's own guard with one nonce.
      const reply = parseServerHello(opened.body as ServerHello);
      const key = deriveSessionKey({
        ownPrivateKey: client.ephemeralPrivate,
        peerPublicKey: reply.ephemeralKey,
        client,
        serverEphemeralKey: reply.ephemeralKey,
        serverNonce: reply.nonce,
      });
      const headers = signRequest({
        method: 'DELETE',
        url: `${running.url}/internal/mesh-hello`,
        sessionId: reply.hello.sessionId,
        sessionKey: key,
      });
      const closed = await request(running.url)
        .delete('/internal/mesh-hello')
        .set({ ...headers });
      expect(closed.status).toBe(204);
      expect(audit.actions()).toContain('session_invalidated');
    } finally {
      await running.close();
    }
  });

  it('takes the handshake, and its path, from forRootAsync options', async () => {
    const running = await listen(
      {
        imports: [
          MeshSessionModule.forRootAsync({
            useFactory: async () => ({
              serviceId: 'greeter',
              cleanupInterval: false as const,
              handshake: {
                privateKey: keys.greeter.privateKey,
                trustedServices: { caller: keys.caller.publicKey },
                path: '/async/handshake',
              },
            }),
          }),
        ],
      },
      platform,
    );
    try {
      const res = await request(running.url)
        .post('/async/handshake')
        .set('content-type', HANDSHAKE_CONTENT_TYPE)
        .send(JSON.stringify(hello().hello));
      expect(res.status).toBe(201);
    } finally {
      await running.close();
    }
  });
});
