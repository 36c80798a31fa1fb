import { randomBytes } from 'node:crypto';
import { jest } from '@jest/globals';
import { Controller, Get, type INestApplication, UseGuards } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import request from 'supertest';
import {
  CurrentSession,
  MeshSessionModule,
  SessionGuard,
  SessionManager,
  SessionStore,
  SkipSession,
  type MonitoringAdapter,
  type Session,
} from '../../lib/index.js';
import { AuditRecorder, keyEncodings } from '../support/audit-recorder.js';
import { countTouches, failTouches, stallTouches } from '../support/store-faults.js';
import { fakeDateOnly, httpAdapters, startHttpApp } from '../support/http-app.js';
import { storeFactories } from '../support/store-factories.js';

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 0, 1);
const UNKNOWN_ID = '3b241101-e2bb-4255-8caf-4136c566a962';

@Controller()
class GuardedController {
  @UseGuards(SessionGuard)
  @Get('whoami')
  whoami(@CurrentSession() session: Session): Session {
    // Returned as is on purpose: serialisation must not leak the key.
    return session;
  }
}

@Controller('open')
@SkipSession()
class OpenController {
  @Get()
  open(): { ok: true } {
    return { ok: true };
  }
}

@Controller('mixed')
class MixedController {
  @Get('guarded')
  guarded(): { ok: true } {
    return { ok: true };
  }

  @SkipSession()
  @Get('public')
  public(): { ok: true } {
    return { ok: true };
  }
}

const combos = httpAdapters.flatMap((adapter) =>
  storeFactories.map((factory) => ({
    adapter,
    factory,
    label: `${adapter.name} / ${factory.name}`,
  })),
);

describe.each(combos)('SessionGuard on $label', ({ adapter, factory }) => {
  let app: INestApplication;
  let store: SessionStore;
  let manager: SessionManager;
  let audit: AuditRecorder;
  let slowAdapterCalls: number;

  beforeAll(async () => {
    store = await factory.create();
    audit = new AuditRecorder();
    slowAdapterCalls = 0;
    // Adapters that hang or throw must change nothing about the responses.
    const hanging: MonitoringAdapter = {
      logEvent: () => {
        slowAdapterCalls++;
        return new Promise<void>(() => undefined);
      },
    };
    const throwing: MonitoringAdapter = {
      logEvent: () => Promise.reject(new Error('adapter down')),
    };
    app = await startHttpApp(
      {
        imports: [
          MeshSessionModule.forRoot({
            serviceId: 'self',
            sessionTimeout: HOUR,
            cleanupInterval: false,
            store,
            storeTimeout: 50,
            rateLimit: { maxRequests: 3, windowMs: 60_000 },
            monitoring: { adapters: [audit, hanging, throwing] },
          }),
        ],
        controllers: [GuardedController],
      },
      adapter,
    );
    manager = app.get(SessionManager);
  });

  afterAll(async () => {
    await app.close();
    await factory.teardown?.();
  });

  afterEach(() => {
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  const get = (id?: string) => {
    const req = request(app.getHttpServer()).get('/whoami');
    return id === undefined ? req : req.set('x-mesh-session-id', id);
  };

  it('answers 401 Missing session id without the header', async () => {
    const res = await get();
    expect(res.status).toBe(401);
    expect(res.body).toEqual({
      statusCode: 401,
      message: 'Missing session id',
      error: 'Unauthorized',
    });
  });

  it('answers 401 Invalid session id for a non-UUID, with no store lookup', async () => {
    const touches = countTouches(store);
    for (const bad of ['abc', `${UNKNOWN_ID}x`, 'x'.repeat(36), "' OR 1=1 --"]) {
      const res = await get(bad);
      expect(res.status).toBe(401);
      expect(res.body.message).toBe('Invalid session id');
    }
    expect(touches()).toBe(0);
  });

  it('answers 401 Session not found or expired for an unknown id', async () => {
    const res = await get(UNKNOWN_ID);
    expect(res.status).toBe(401);
    expect(res.body.message).toBe('Session not found or expired');
  });

  it('answers 401 for an expired session, and removes it', async () => {
    fakeDateOnly(jest, T0);
    const session = await manager.createSession('expiring', randomBytes(32));
    jest.setSystemTime(T0 + HOUR);
    const res = await get(session.id);
    expect(res.status).toBe(401);
    expect(res.body.message).toBe('Session not found or expired');
    expect(await manager.getSessionsByServiceId('expiring')).toEqual([]);
  });

  it('runs the handler for a valid session, slides it, and never returns its key', async () => {
    fakeDateOnly(jest, T0);
    const key = randomBytes(32);
    const session = await manager.createSession('valid', key, { region: 'eu' });
    jest.setSystemTime(T0 + 10 * 60_000);
    const res = await get(session.id);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      id: session.id,
      serviceId: 'valid',
      createdAt: T0,
      lastActivity: T0 + 10 * 60_000,
      expiresAt: T0 + 10 * 60_000 + HOUR,
      metadata: { region: 'eu' },
    });
    for (const encoding of keyEncodings(key)) expect(res.text).not.toContain(encoding);
  });

  it('invalidates a revoked session, then answers 401 Session has been revoked', async () => {
    const session = await manager.createSession('revoked', randomBytes(32));
    await manager.updateSessionMetadata(session.id, { revoked: true });
    const res = await get(session.id);
    expect(res.status).toBe(401);
    expect(res.body.message).toBe('Session has been revoked');
    const again = await get(session.id);
    expect(again.body.message).toBe('Session not found or expired');
  });

  it('rate-limits per serviceId: two sessions of one service share the budget', async () => {
    const a = await manager.createSession('limited', randomBytes(32));
    const b = await manager.createSession('limited', randomBytes(32));
    const other = await manager.createSession('unlimited', randomBytes(32));
    const allowed = [await get(a.id), await get(b.id), await get(a.id)];
    expect(allowed.map((res) => res.status)).toEqual([200, 200, 200]);
    // Every allowed response carries the budget left, as @nestjs/throttler's do.
    expect(allowed.map((res) => res.headers['ratelimit-remaining'])).toEqual(['2', '1', '0']);
    for (const res of allowed) {
      expect(res.headers['ratelimit-limit']).toBe('3');
      expect(Number(res.headers['ratelimit-reset'])).toBeGreaterThanOrEqual(59);
      expect(res.headers['retry-after']).toBeUndefined();
    }
    const denied = await get(b.id);
    expect(denied.status).toBe(429);
    // Shaped like the guard's 401 and 503 bodies.
    expect(denied.body).toEqual({
      statusCode: 429,
      message: 'Rate limit exceeded',
      error: 'Too Many Requests',
    });
    expect(Number(denied.headers['retry-after'])).toBeGreaterThanOrEqual(59);
    expect(denied.headers['ratelimit-limit']).toBe('3');
    expect(denied.headers['ratelimit-remaining']).toBe('0');
    expect(Number(denied.headers['ratelimit-reset'])).toBeGreaterThanOrEqual(59);
    expect((await get(other.id)).status).toBe(200);
    expect(
      audit.events.some((e) => e.eventType === 'rate_limit' && e.serviceId === 'limited'),
    ).toBe(true);
  });

  it('answers 503 when the store throws, and never lets the request through', async () => {
    const session = await manager.createSession('store-down', randomBytes(32));
    failTouches(store, new Error('connection refused'));
    const res = await get(session.id);
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ statusCode: 503, message: 'Session store unavailable' });
    expect(res.headers['retry-after']).toBe('1');
  });

  it('answers 503 when the store does not answer within storeTimeout', async () => {
    const session = await manager.createSession('store-slow', randomBytes(32));
    stallTouches(store, manager);
    const res = await get(session.id);
    expect(res.status).toBe(503);
    expect(res.body.message).toBe('Session store unavailable');
  });

  it('counts every rejection and emits an error event for it', async () => {
    const before = (await manager.getStats()).rejected;
    const eventsBefore = audit.events.filter((e) => e.eventType === 'error').length;
    await get();
    await get('nope');
    await get(UNKNOWN_ID);
    expect((await manager.getStats()).rejected).toBe(before + 3);
    const errors = audit.events.filter((e) => e.eventType === 'error').slice(eventsBefore);
    expect(errors.map((e) => e.details.error)).toEqual(['missing', 'invalid', 'not_found']);
    expect(errors.every((e) => e.details.success === false)).toBe(true);
  });

  it('is not delayed by adapters that hang or reject', async () => {
    const session = await manager.createSession('audited', randomBytes(32));
    const res = await get(session.id);
    expect(res.status).toBe(200);
    expect(slowAdapterCalls).toBeGreaterThan(0);
  });
});

describe.each(httpAdapters)('SessionGuard as APP_GUARD on $name', (adapter) => {
  let app: INestApplication;

  beforeAll(async () => {
    app = await startHttpApp(
      {
        imports: [
          MeshSessionModule.forRoot({ cleanupInterval: false, sessionHeader: 'X-Caller-Session' }),
        ],
        controllers: [OpenController, MixedController],
        providers: [{ provide: APP_GUARD, useClass: SessionGuard }],
      },
      adapter,
    );
  });

  afterAll(() => app.close());

  it('exempts a controller marked @SkipSession()', async () => {
    expect((await request(app.getHttpServer()).get('/open')).status).toBe(200);
  });

  it('exempts a route marked @SkipSession() and guards its siblings', async () => {
    expect((await request(app.getHttpServer()).get('/mixed/public')).status).toBe(200);
    expect((await request(app.getHttpServer()).get('/mixed/guarded')).status).toBe(401);
  });

  it('reads the configured header', async () => {
    const session = await app.get(SessionManager).createSession('svc', randomBytes(32));
    const res = await request(app.getHttpServer())
      .get('/mixed/guarded')
      .set('x-caller-session', session.id);
    expect(res.status).toBe(200);
  });
});

@Controller('double')
class DoubleGuardedController {
  @UseGuards(SessionGuard)
  @Get()
  double(): { ok: true } {
    return { ok: true };
  }
}

describe.each(httpAdapters)('SessionGuard both global and on a route, on $name', (adapter) => {
  let app: INestApplication;

  beforeAll(async () => {
    app = await startHttpApp(
      {
        imports: [
          MeshSessionModule.forRoot({
            cleanupInterval: false,
            rateLimit: { maxRequests: 2, windowMs: 60_000 },
          }),
        ],
        controllers: [DoubleGuardedController],
        providers: [{ provide: APP_GUARD, useClass: SessionGuard }],
      },
      adapter,
    );
  });

  afterAll(() => app.close());

  it('checks a request once: one unit of rate-limit budget per request', async () => {
    const session = await app.get(SessionManager).createSession('svc', randomBytes(32));
    const call = () =>
      request(app.getHttpServer()).get('/double').set('x-mesh-session-id', session.id);
    expect((await call()).status).toBe(200);
    expect((await call()).status).toBe(200);
    expect((await call()).status).toBe(429);
  });
});
