import { randomBytes } from 'node:crypto';
import { jest } from '@jest/globals';
import { Controller, Get, type INestApplication } from '@nestjs/common';
import {
  HealthCheck,
  HealthCheckService,
  TerminusModule,
  type HealthCheckResult,
} from '@nestjs/terminus';
import request from 'supertest';
import { MeshSessionModule, SessionManager, SessionStore } from '../../lib/index.js';
import { SessionHealthIndicator } from '../../lib/health.js';
import { keyEncodings } from '../support/audit-recorder.js';
import { fakeDateOnly, httpAdapters, startHttpApp } from '../support/http-app.js';
import { storeFactories } from '../support/store-factories.js';

@Controller('health')
class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly sessions: SessionHealthIndicator,
  ) {}

  @Get()
  @HealthCheck()
  check(): Promise<HealthCheckResult> {
    return this.health.check([() => this.sessions.isHealthy()]);
  }
}

const combos = httpAdapters.flatMap((adapter) =>
  storeFactories.map((factory) => ({
    adapter,
    factory,
    label: `${adapter.name} / ${factory.name}`,
  })),
);

describe.each(combos)('SessionHealthIndicator on $label', ({ adapter, factory }) => {
  let app: INestApplication;
  let store: SessionStore;
  let manager: SessionManager;

  beforeAll(async () => {
    store = await factory.create();
    app = await startHttpApp(
      {
        imports: [
          TerminusModule,
          MeshSessionModule.forRoot({
            store,
            cleanupInterval: false,
            storeTimeout: 50,
            health: { maxActiveSessions: 2 },
          }),
        ],
        controllers: [HealthController],
        providers: [SessionHealthIndicator],
      },
      adapter,
    );
    manager = app.get(SessionManager);
  });

  afterAll(async () => {
    await app.close();
    await factory.teardown?.();
  });

  afterEach(() => jest.restoreAllMocks());

  it('is up below the threshold, with activeSessions and maxActiveSessions', async () => {
    const key = randomBytes(32);
    await manager.createSession('svc', key);
    const res = await request(app.getHttpServer()).get('/health');
    expect(res.status).toBe(200);
    expect(res.body.details.sessions).toEqual({
      status: 'up',
      activeSessions: 1,
      maxActiveSessions: 2,
    });
    for (const encoding of keyEncodings(key)) expect(res.text).not.toContain(encoding);
  });

  it('is down, and /health answers 503, at the threshold', async () => {
    await manager.createSession('svc', randomBytes(32));
    const res = await request(app.getHttpServer()).get('/health');
    expect(res.status).toBe(503);
    expect(res.body.details.sessions).toEqual({
      status: 'down',
      activeSessions: 2,
      maxActiveSessions: 2,
    });
  });

  it('counts live sessions only: expired ones cleanup has not removed do not count', async () => {
    // Two sessions from the tests above, down at the threshold; an hour and a bit later both
    // have expired, and no cleanup ran.
    fakeDateOnly(jest, Date.now() + 3_600_000 + 1_000);
    try {
      const later = await request(app.getHttpServer()).get('/health');
      expect(later.status).toBe(200);
      expect(later.body.details.sessions).toEqual({
        status: 'up',
        activeSessions: 0,
        maxActiveSessions: 2,
      });
      expect((await manager.getStats()).activeSessions).toBe(0);
      await manager.createSession('svc', randomBytes(32));
      const one = await request(app.getHttpServer()).get('/health');
      expect(one.body.details.sessions.activeSessions).toBe(1);
      expect(await manager.cleanupExpiredSessions()).toBe(2);
    } finally {
      jest.useRealTimers();
    }
  });

  it('is down with a short reason when the store throws', async () => {
    jest.spyOn(store, 'count').mockRejectedValue(new Error('ECONNREFUSED 127.0.0.1:6379'));
    const res = await request(app.getHttpServer()).get('/health');
    expect(res.status).toBe(503);
    expect(res.body.details.sessions).toEqual({
      status: 'down',
      message: 'Session store unavailable',
    });
  });

  it('is down when the store does not answer within storeTimeout', async () => {
    jest.spyOn(store, 'count').mockReturnValue(new Promise(() => undefined));
    const indicator = app.get(SessionHealthIndicator);
    await expect(indicator.isHealthy('custom')).resolves.toEqual({
      custom: { status: 'down', message: 'Session store unavailable' },
    });
  });
});
