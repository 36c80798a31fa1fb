import { randomBytes, randomUUID } from 'node:crypto';
import { jest } from '@jest/globals';
import { Controller, Get, type INestApplication, UseGuards } from '@nestjs/common';
import {
  HealthCheck,
  HealthCheckService,
  TerminusModule,
  type HealthCheckResult,
} from '@nestjs/terminus';
import request from 'supertest';
import {
  CurrentSession,
  MeshSession,
  MeshSessionModule,
  SessionCleanupService,
  SessionGuard,
  SessionManager,
  SessionStore,
  signRequest,
  type Session,
} from '../../lib/index.js';
import { SessionHealthIndicator } from '../../lib/health.js';
import { RedisSessionStore } from '../../lib/redis.js';
import { createClientHello } from '../../lib/protocol/handshake/client-handshake.js';
import { createEphemeralKeyPair } from '../../lib/protocol/handshake/ephemeral-keys.js';
import { fakeDateOnly, httpAdapters, startHttpApp } from '../support/http-app.js';
import { RedisServer } from '../support/redis-server.js';
import { keys, startGreeter } from './handshake-fixtures.js';

/*
 * Two instances of one service, two Nest apps, one Redis: what one instance does to a session,
 * the other sees on its very next request.
 */

const HOUR = 3_600_000;
const KEY = randomBytes(32);

@Controller()
class WhoamiController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly sessions: SessionHealthIndicator,
  ) {}

  @UseGuards(SessionGuard)
  @Get('whoami')
  whoami(@CurrentSession() session: Session): Session {
    return session;
  }

  @Get('health')
  @HealthCheck()
  check(): Promise<HealthCheckResult> {
    return this.health.check([() => this.sessions.isHealthy()]);
  }
}

describe.each(httpAdapters)('two instances sharing one Redis on $name', (adapter) => {
  let server: RedisServer;
  let a: INestApplication;
  let b: INestApplication;
  let signedA: INestApplication;
  let signedB: INestApplication;

  async function instance(keyPrefix: string, requestSigning = false): Promise<INestApplication> {
    return startHttpApp(
      {
        imports: [
          TerminusModule,
          MeshSessionModule.forRoot({
            serviceId: 'greeter',
            sessionTimeout: HOUR,
            cleanupInterval: false,
            requestSigning,
            // Four apps connect at once: on a loaded machine their clients can take longer than
            // the default 500 ms to be ready. This file tests sharing, not timeouts.
            store: new RedisSessionStore({
              url: server.url,
              encryptionKeys: [KEY],
              keyPrefix,
              commandTimeout: 5_000,
            }),
            rateLimit: { maxRequests: 5, windowMs: 60_000 },
            health: { maxActiveSessions: 1_000 },
          }),
        ],
        controllers: [WhoamiController],
        providers: [SessionHealthIndicator],
      },
      adapter,
    );
  }

  beforeAll(async () => {
    server = await RedisServer.start();
    [a, b, signedA, signedB] = await Promise.all([
      instance('shared:'),
      instance('shared:'),
      instance('signed:', true),
      instance('signed:', true),
    ]);
  });

  afterAll(async () => {
    // Each app's shutdown closes the Redis client its store created.
    await Promise.all([a, b, signedA, signedB].map((app) => app?.close()));
    await server?.destroy();
  });

  afterEach(() => {
    jest.useRealTimers();
  });

  const whoami = (app: INestApplication, id: string) =>
    request(app.getHttpServer()).get('/whoami').set('x-mesh-session-id', id);

  it('accepts on B a session created on A, and both see the same slide', async () => {
    const session = await a.get(SessionManager).createSession('billing', randomBytes(32));
    const res = await whoami(b, session.id);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: session.id, serviceId: 'billing' });
    const onA = await a.get(SessionStore).get(session.id, Date.now());
    expect(onA?.lastActivity).toBe(res.body.lastActivity);
  });

  it('rejects on A, at the next request, a session invalidated on B', async () => {
    const session = await a.get(SessionManager).createSession('billing', randomBytes(32));
    expect((await whoami(a, session.id)).status).toBe(200);
    expect(await b.get(SessionManager).invalidateSession(session.id)).toBe(true);
    const res = await whoami(a, session.id);
    expect(res.status).toBe(401);
    expect(res.body.message).toBe('Session not found or expired');
  });

  it('rejects on A a session revoked on B, and on A a service invalidated on B', async () => {
    const managerA = a.get(SessionManager);
    const revoked = await managerA.createSession('orders', randomBytes(32));
    await b.get(SessionManager).updateSessionMetadata(revoked.id, { revoked: true });
    const res = await whoami(a, revoked.id);
    expect(res.status).toBe(401);
    expect(res.body.message).toBe('Session has been revoked');
    expect((await whoami(b, revoked.id)).body.message).toBe('Session not found or expired');

    const first = await managerA.createSession('reports', randomBytes(32));
    const second = await managerA.createSession('reports', randomBytes(32));
    expect(await b.get(SessionManager).invalidateSessionsByServiceId('reports')).toBe(2);
    expect((await whoami(a, first.id)).status).toBe(401);
    expect((await whoami(a, second.id)).status).toBe(401);
  });

  it('shares the rate limit of a service between the instances', async () => {
    const serviceId = `limited-${adapter.name}`;
    const one = await a.get(SessionManager).createSession(serviceId, randomBytes(32));
    const two = await b.get(SessionManager).createSession(serviceId, randomBytes(32));
    const statuses: number[] = [];
    for (const [app, id] of [
      [a, one.id],
      [b, two.id],
      [a, two.id],
      [b, one.id],
      [a, one.id],
    ] as const) {
      statuses.push((await whoami(app, id)).status);
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200]);
    const deniedOnB = await whoami(b, two.id);
    expect(deniedOnB.status).toBe(429);
    expect(deniedOnB.headers['ratelimit-limit']).toBe('5');
    expect(Number(deniedOnB.headers['retry-after'])).toBeGreaterThanOrEqual(59);
    expect((await whoami(a, one.id)).status).toBe(429);
  });

  it('refuses on B a signed request replayed from A', async () => {
    const key = randomBytes(32);
    const session = await signedA.get(SessionManager).createSession('caller', key);
    // Behind a load balancer both instances see the same Host.
    const host = 'greeter.mesh.internal';
    const headers = signRequest({
      method: 'GET',
      url: `http://${host}/whoami`,
      sessionId: session.id,
      sessionKey: key,
    });
    const send = (app: INestApplication, signed: Record<string, string | undefined>) =>
      request(app.getHttpServer())
        .get('/whoami')
        .set('host', host)
        .set('signature-input', signed['signature-input'] as string)
        .set('signature', signed.signature as string);
    expect((await send(signedA, { ...headers })).status).toBe(200);
    const replay = await send(signedB, { ...headers });
    expect(replay.status).toBe(401);
    expect(replay.body.message).toBe('Request nonce already used');
    // B itself accepts the session: only the replay was refused.
    const fresh = signRequest({
      method: 'GET',
      url: `http://${host}/whoami`,
      sessionId: session.id,
      sessionKey: key,
    });
    expect((await send(signedB, { ...fresh })).status).toBe(200);
  });

  it('refuses on B a handshake replayed from A', async () => {
    const keyPrefix = `handshake-${adapter.name}:`;
    const store = () =>
      new RedisSessionStore({ url: server.url, encryptionKeys: [KEY], keyPrefix });
    const [greeterA, greeterB] = await Promise.all([
      startGreeter(adapter, { store: store() }),
      startGreeter(adapter, { store: store() }),
    ]);
    try {
      const { hello } = createClientHello({
        clientId: 'caller',
        serverId: 'greeter',
        identityKey: keys.caller.privateKey,
        ephemeral: createEphemeralKeyPair(),
      });
      const first = await request(greeterA.app.getHttpServer()).post('/mesh/handshake').send(hello);
      expect(first.status).toBeLessThan(300);
      const replay = await request(greeterB.app.getHttpServer())
        .post('/mesh/handshake')
        .send(hello);
      expect(replay.status).toBe(401);
      expect(replay.body.message).toBe('Handshake failed');
      // A fresh hello is welcome on B: only the replay was refused.
      const fresh = createClientHello({
        clientId: 'caller',
        serverId: 'greeter',
        identityKey: keys.caller.privateKey,
        ephemeral: createEphemeralKeyPair(),
      });
      const ok = await request(greeterB.app.getHttpServer())
        .post('/mesh/handshake')
        .send(fresh.hello);
      expect(ok.status).toBeLessThan(300);
    } finally {
      await Promise.all([greeterA.close(), greeterB.close()]);
    }
  });

  it('counts right when both instances run the cleanup job at once', async () => {
    const keyPrefix = `cleanup-${adapter.name}-${randomUUID()}:`;
    const [x, y] = await Promise.all([instance(keyPrefix), instance(keyPrefix)]);
    try {
      const store = x.get(SessionStore);
      const now = Date.now();
      const make = (serviceId: string, ttl: number) =>
        new MeshSession(randomUUID(), serviceId, randomBytes(32), now, now, now + ttl);
      await Promise.all([
        ...Array.from({ length: 400 }, (_, i) => store.create(make(`svc-${i % 4}`, HOUR))),
        ...Array.from({ length: 100 }, (_, i) => store.create(make(`svc-${i % 4}`, 3 * HOUR))),
      ]);
      fakeDateOnly(jest, now + 2 * HOUR);
      const [onX, onY] = await Promise.all([
        x.get(SessionCleanupService).run(),
        y.get(SessionCleanupService).run(),
      ]);
      expect(onX + onY).toBe(400);
      const stats = await Promise.all([x, y].map((app) => app.get(SessionManager).getStats()));
      expect(stats[0].expired + stats[1].expired).toBe(400);
      expect(stats[0].activeSessions).toBe(100);
      expect(stats[1].activeSessions).toBe(100);
      const health = await request(y.getHttpServer()).get('/health');
      expect(health.status).toBe(200);
      expect(health.body.info.sessions).toEqual({
        status: 'up',
        activeSessions: 100,
        maxActiveSessions: 1_000,
      });
      let live = 0;
      for (let i = 0; i < 4; i++) {
        live += (await y.get(SessionManager).getSessionsByServiceId(`svc-${i}`)).length;
      }
      expect(live).toBe(100);
    } finally {
      jest.useRealTimers();
      await Promise.all([x.close(), y.close()]);
    }
  });
});
