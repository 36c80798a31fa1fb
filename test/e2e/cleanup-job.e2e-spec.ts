import { randomBytes } from 'node:crypto';
import { jest } from '@jest/globals';
import { Logger, type INestApplication } from '@nestjs/common';
import { ScheduleModule, SchedulerRegistry } from '@nestjs/schedule';
import { Test } from '@nestjs/testing';
import {
  MESH_SESSION_CLEANUP_JOB,
  MemorySessionStore,
  MeshSessionModule,
  RateLimiter,
  SessionCleanupService,
  SessionManager,
  type SessionStore,
} from '../../lib/index.js';
import { AuditRecorder } from '../support/audit-recorder.js';

const T0 = Date.UTC(2026, 0, 1);
const TIMEOUT = 60_000;
const INTERVAL = 10_000;

async function createApp(
  store: SessionStore,
  extra: { schedule?: boolean; audit?: AuditRecorder; cleanupInterval?: number | false } = {},
): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({
    imports: [
      ...(extra.schedule === false ? [] : [ScheduleModule.forRoot()]),
      MeshSessionModule.forRoot({
        serviceId: 'self',
        store,
        sessionTimeout: TIMEOUT,
        cleanupInterval: extra.cleanupInterval ?? INTERVAL,
        rateLimit: { maxRequests: 10, windowMs: 60_000 },
        monitoring: extra.audit ? { adapters: [extra.audit] } : undefined,
      }),
    ],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.init();
  return app;
}

describe('cleanup job', () => {
  let logs: string[];
  let errors: string[];

  beforeEach(() => {
    jest.useFakeTimers({ now: T0 });
    logs = [];
    errors = [];
    jest
      .spyOn(Logger.prototype, 'log')
      .mockImplementation((m: unknown) => void logs.push(String(m)));
    jest
      .spyOn(Logger.prototype, 'error')
      .mockImplementation((m: unknown) => void errors.push(String(m)));
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });

  afterEach(() => {
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  it('registers MESH_SESSION_CLEANUP_JOB and removes expired sessions when it fires', async () => {
    const app = await createApp(new MemorySessionStore());
    const registry = app.get(SchedulerRegistry);
    expect(registry.getIntervals()).toEqual([MESH_SESSION_CLEANUP_JOB]);
    const manager = app.get(SessionManager);
    for (let i = 0; i < 3; i++) await manager.createSession('svc', randomBytes(32));
    jest.setSystemTime(T0 + 30_000);
    const keeper = await manager.createSession('svc', randomBytes(32));

    // Clock moves to T0 + 80 s: the first three expired at T0 + 60 s, the keeper lives on.
    await jest.advanceTimersByTimeAsync(50_000);
    expect(await manager.getStats()).toMatchObject({ activeSessions: 1, expired: 3 });
    expect(logs).toContain('Cleaned up 3 expired sessions');
    expect(await manager.getSession(keeper.id)).toBeDefined();
    expect(logs.filter((l) => l.startsWith('Cleaned up'))).toHaveLength(1);
    await app.close();
  });

  it('logs a failed run and still runs the next one', async () => {
    const store = new MemorySessionStore();
    const app = await createApp(store);
    const manager = app.get(SessionManager);
    await manager.createSession('svc', randomBytes(32));
    const spy = jest.spyOn(store, 'deleteExpired').mockRejectedValueOnce(new Error('store hiccup'));
    jest.setSystemTime(T0 + TIMEOUT);
    await jest.advanceTimersByTimeAsync(INTERVAL);
    expect(errors).toEqual(['Session cleanup failed: store hiccup']);
    await jest.advanceTimersByTimeAsync(INTERVAL);
    expect(spy).toHaveBeenCalledTimes(2);
    expect(logs).toContain('Cleaned up 1 expired sessions');
    await app.close();
  });

  it('never overlaps runs', async () => {
    const store = new MemorySessionStore();
    const app = await createApp(store);
    let release: (n: number) => void = () => undefined;
    const spy = jest
      .spyOn(store, 'deleteExpired')
      .mockImplementationOnce(() => new Promise<number>((resolve) => (release = resolve)));
    await jest.advanceTimersByTimeAsync(INTERVAL * 3);
    expect(spy).toHaveBeenCalledTimes(1);
    release(0);
    await jest.advanceTimersByTimeAsync(INTERVAL);
    expect(spy).toHaveBeenCalledTimes(2);
    await app.close();
  });

  it('registers nothing with cleanupInterval: false', async () => {
    const app = await createApp(new MemorySessionStore(), { cleanupInterval: false });
    expect(app.get(SchedulerRegistry).getIntervals()).toEqual([]);
    await app.close();
  });

  it('still runs without ScheduleModule, on its own interval', async () => {
    const app = await createApp(new MemorySessionStore(), { schedule: false });
    const manager = app.get(SessionManager);
    await manager.createSession('svc', randomBytes(32));
    jest.setSystemTime(T0 + TIMEOUT);
    await jest.advanceTimersByTimeAsync(INTERVAL);
    expect((await manager.getStats()).activeSessions).toBe(0);
    await app.close();
  });
});

describe('shutdown', () => {
  afterEach(() => {
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  it('stops the job, runs a final cleanup, tells the adapters and closes the store', async () => {
    jest.useFakeTimers({ now: T0 });
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    const store = new MemorySessionStore();
    const audit = new AuditRecorder();
    const app = await createApp(store, { audit });
    const manager = app.get(SessionManager);
    const registry = app.get(SchedulerRegistry);
    await manager.createSession('svc', randomBytes(32));
    jest.setSystemTime(T0 + TIMEOUT);
    const close = jest.spyOn(store, 'close');
    const limiterClose = jest.spyOn(app.get(RateLimiter), 'close');

    await app.close();

    expect(registry.getIntervals()).toEqual([]);
    expect(await store.count()).toBe(0);
    const shutdown = audit.events.find((e) => e.details.action === 'mesh_shutdown');
    expect(shutdown).toMatchObject({ eventType: 'connection', serviceId: 'self' });
    expect(close).toHaveBeenCalledTimes(1);
    expect(limiterClose).toHaveBeenCalledTimes(1);
    // The final cleanup ran before the shutdown event.
    expect(audit.actions().indexOf('sessions_expired')).toBeLessThan(
      audit.actions().indexOf('mesh_shutdown'),
    );
  });

  it('leaves no timer or handle open after app.close()', async () => {
    const baseline = process.getActiveResourcesInfo().sort();
    const app = await createApp(new MemorySessionStore(), { schedule: false });
    const manager = app.get(SessionManager);
    const session = await manager.createSession('svc', randomBytes(32));
    const limiter = app.get(RateLimiter);
    await limiter.checkLimit(session.serviceId);
    const cleanup = app.get(SessionCleanupService);
    await cleanup.run();
    const clear = jest.spyOn(globalThis, 'clearTimeout');
    const clearInterval = jest.spyOn(globalThis, 'clearInterval');
    await app.close();
    expect(process.getActiveResourcesInfo().sort()).toEqual(baseline);
    // The unref'd ones do not show above: check they were cleared too.
    expect(clearInterval).toHaveBeenCalled();
    expect(clear).toHaveBeenCalled();
  });
});
