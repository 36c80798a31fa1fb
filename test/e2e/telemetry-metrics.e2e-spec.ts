import { randomBytes, randomUUID } from 'node:crypto';
import { jest } from '@jest/globals';
import request from 'supertest';
import {
  MESH_SESSION_ATTRIBUTES as A,
  MESH_SESSION_METRICS as M,
  MemorySessionStore,
  MeshSessionModule,
  SessionCleanupService,
  SessionManager,
  StoreTimeoutError,
  type MeshSessionModuleOptions,
  type SessionStore,
} from '../../lib/index.js';
import { RedisSessionStore } from '../../lib/redis.js';
import { fakeDateOnly } from '../support/http-app.js';
import {
  RedisStoreFixture,
  storeFactories,
  teardownStoreFactories,
  testEncryptionKey,
} from '../support/store-factories.js';
import { TestTelemetry, type Point } from '../support/telemetry.js';
import { GreeterController, listen, platforms, type RunningApp } from './handshake-fixtures.js';

/*
 * Every metric of docs/observability.md, read back through the OpenTelemetry SDK's in-memory
 * exporter, on the memory and the Redis store: the guard's outcomes, the session counters, the
 * store calls and their errors, the live-sessions gauge (expired sessions that cleanup has not
 * removed yet left out) and the cleanup runs.
 */

const HEADER = 'x-mesh-session-id';
const STORES = storeFactories.filter((factory) => factory.name !== 'redis-cluster');

afterAll(() => teardownStoreFactories());

/** Starts a session-id-mode server recording into `otel`. */
async function startServer(
  otel: TestTelemetry,
  store: SessionStore,
  options: Partial<MeshSessionModuleOptions> = {},
): Promise<RunningApp & { manager: SessionManager }> {
  const running = await listen(
    {
      imports: [
        MeshSessionModule.forRoot({
          serviceId: 'greeter',
          requestSigning: false,
          cleanupInterval: false,
          store,
          telemetry: otel.options,
          ...options,
        }),
      ],
      controllers: [GreeterController],
    },
    platforms[1],
  );
  return { ...running, audit: undefined as never, manager: running.app.get(SessionManager) };
}

const count = (points: Point[], where: Record<string, string>): number =>
  points
    .filter((p) => Object.entries(where).every(([k, v]) => p.attributes[k] === v))
    .reduce((n, p) => n + p.value, 0);

describe.each(STORES)('metrics on the $name store', (factory) => {
  let otel: TestTelemetry;
  let store: SessionStore;
  let running: (RunningApp & { manager: SessionManager }) | undefined;

  beforeEach(async () => {
    otel = new TestTelemetry();
    store = await factory.create();
  });

  afterEach(async () => {
    jest.useRealTimers();
    await running?.close();
    running = undefined;
    await store.close();
    await otel.shutdown();
  });

  it('counts every outcome of the guard, with its reason, and times each check', async () => {
    running = await startServer(otel, store, {
      rateLimit: { maxRequests: 3, windowMs: 60_000 },
      telemetry: { ...otel.options, peerServiceAttribute: true },
    });
    const { manager } = running;
    const http = request(running.url);
    const billing = await manager.createSession('billing', randomBytes(32));
    for (let i = 0; i < 3; i++) {
      expect((await http.get('/whoami').set(HEADER, billing.id)).status).toBe(200);
    }
    expect((await http.get('/whoami').set(HEADER, billing.id)).status).toBe(429);
    expect((await http.get('/whoami')).status).toBe(401);
    expect((await http.get('/whoami').set(HEADER, 'not-a-uuid')).status).toBe(401);
    expect((await http.get('/whoami').set(HEADER, randomUUID())).status).toBe(401);
    const revoked = await manager.createSession('audit', randomBytes(32));
    await manager.updateSessionMetadata(revoked.id, { revoked: true });
    expect((await http.get('/whoami').set(HEADER, revoked.id)).status).toBe(401);

    const requests = await otel.points(M.guardRequests);
    expect(
      count(requests, {
        [A.outcome]: 'allowed',
        [A.transport]: 'http',
        [A.peerService]: 'billing',
      }),
    ).toBe(3);
    for (const reason of ['rate_limited', 'missing', 'invalid', 'unknown_or_expired', 'revoked']) {
      expect(
        count(requests, {
          [A.outcome]: 'refused',
          [A.refusalReason]: reason,
          [A.transport]: 'http',
        }),
      ).toBe(1);
    }
    expect(requests.reduce((n, p) => n + p.value, 0)).toBe(8);
    // Refusals carry no peer: the attribute is recorded on requests let through only.
    const refusedWithPeer = requests.filter(
      (p) => p.attributes[A.outcome] === 'refused' && p.attributes[A.peerService] !== undefined,
    );
    expect(refusedWithPeer).toEqual([]);

    // The requests let through, without attributes (refusals are counted above, by reason).
    const durations = await otel.points(M.guardDuration);
    expect(durations).toEqual([{ attributes: {}, value: 3, sum: expect.any(Number) }]);
    expect(durations[0].sum).toBeGreaterThan(0);
    expect(durations[0].sum).toBeLessThan(3 * 5);
  });

  it('counts sessions created, invalidated by cause and expired, and times every store call', async () => {
    running = await startServer(otel, store);
    const { manager } = running;
    const http = request(running.url);
    const kind = { [A.storeKind]: store.telemetryKind };
    const one = await manager.createSession('billing', randomBytes(32));
    const revoked = await manager.createSession('billing', randomBytes(32));
    for (let i = 0; i < 2; i++) await manager.createSession('batch', randomBytes(32));
    await manager.updateSessionMetadata(revoked.id, { revoked: true });
    expect((await http.get('/whoami').set(HEADER, revoked.id)).status).toBe(401);
    expect(await manager.invalidateSession(one.id)).toBe(true);
    expect(await manager.getSessionsByServiceId('batch')).toHaveLength(2);
    expect(await manager.invalidateSessionsByServiceId('batch')).toBe(2);
    expect((await manager.getStats()).activeSessions).toBe(0);

    expect(await otel.sum(M.sessionsCreated, kind)).toBe(4);
    const invalidated = await otel.points(M.sessionsInvalidated);
    expect(count(invalidated, { [A.invalidationCause]: 'revoked' })).toBe(1);
    expect(count(invalidated, { [A.invalidationCause]: 'invalidated' })).toBe(1);
    expect(count(invalidated, { [A.invalidationCause]: 'service' })).toBe(2);

    const calls = await otel.points(M.storeOperationDuration);
    const op = (operation: string) => count(calls, { [A.storeOperation]: operation });
    expect(op('create')).toBe(4);
    expect(op('update_metadata')).toBe(1);
    expect(op('touch')).toBe(1);
    expect(op('delete')).toBe(2);
    expect(op('find_by_service')).toBe(1);
    expect(op('delete_by_service')).toBe(1);
    // getStats, and the gauge at each collection.
    expect(op('count')).toBeGreaterThanOrEqual(1);
    expect(calls.every((p) => p.attributes[A.errorType] === undefined)).toBe(true);
    expect(await otel.points(M.storeErrors)).toEqual([]);
  });

  it('reports live sessions only, then what cleanup removed and how long it took', async () => {
    const start = Date.now();
    fakeDateOnly(jest, start);
    running = await startServer(otel, store, { sessionTimeout: 60_000 });
    const { manager } = running;
    const http = request(running.url);
    const cleanup = running.app.get(SessionCleanupService);
    const kept = await manager.createSession('billing', randomBytes(32));
    const lapsed = [];
    for (let i = 0; i < 3; i++) lapsed.push(await manager.createSession('batch', randomBytes(32)));
    expect(await otel.points(M.sessionsActive)).toEqual([
      { attributes: { [A.storeKind]: store.telemetryKind }, value: 4 },
    ]);

    jest.setSystemTime(start + 30_000);
    expect((await http.get('/whoami').set(HEADER, kept.id)).status).toBe(200);
    jest.setSystemTime(start + 70_000);
    // Three sessions expired and are still in the store: neither the gauge, the stats nor the
    // health threshold counts them.
    expect(await otel.sum(M.sessionsActive)).toBe(1);
    expect((await manager.getStats()).activeSessions).toBe(1);
    expect(await store.count(start + 70_000)).toBe(1);

    // One found expired on access...
    expect((await http.get('/whoami').set(HEADER, lapsed[0].id)).status).toBe(401);
    // ...the two others by cleanup.
    expect(await cleanup.run()).toBe(2);
    expect(await otel.sum(M.sessionsExpired)).toBe(3);
    expect(await otel.sum(M.cleanupRemoved)).toBe(2);
    expect(await otel.points(M.cleanupDuration)).toEqual([
      expect.objectContaining({
        attributes: { [A.storeKind]: store.telemetryKind, [A.outcome]: 'success' },
        value: 1,
      }),
    ]);
    expect(await otel.sum(M.storeOperationDuration, { [A.storeOperation]: 'delete_expired' })).toBe(
      1,
    );
    expect(await otel.sum(M.sessionsActive)).toBe(1);
  });

  it('stops reading the store when the app closes', async () => {
    running = await startServer(otel, store);
    await running.manager.createSession('billing', randomBytes(32));
    expect(await otel.sum(M.sessionsActive)).toBe(1);
    await running.close();
    running = undefined;
    const counted = jest.spyOn(store, 'count');
    const { errors } = await otel.reader.collect();
    expect(errors).toEqual([]);
    expect(counted).not.toHaveBeenCalled();
  });
});

/**
 * A memory store whose `touch` fails, times out, or never answers, on demand. It answers in this
 * process, so the guard reaches it through `touchNow`, and through `touch` only when told to.
 */
class FlakyStore extends MemorySessionStore {
  mode: 'ok' | 'error' | 'timeout' | 'hang' = 'ok';

  override touchNow(
    id: string,
    now: number,
    idle: number,
    max: number | undefined,
  ): ReturnType<MemorySessionStore['touchNow']> {
    if (this.mode === 'error') throw new Error('connection reset');
    if (this.mode === 'timeout') throw new StoreTimeoutError(100);
    return super.touchNow(id, now, idle, max);
  }

  override async touch(
    id: string,
    now: number,
    idle: number,
    max: number | undefined,
  ): Promise<Awaited<ReturnType<MemorySessionStore['touch']>>> {
    if (this.mode === 'error') throw new Error('connection reset');
    if (this.mode === 'timeout') throw new StoreTimeoutError(100);
    if (this.mode === 'hang') return new Promise(() => undefined);
    return super.touch(id, now, idle, max);
  }
}

describe('store errors and timeouts', () => {
  const redis = RedisStoreFixture.start();
  let otel: TestTelemetry;
  let running: (RunningApp & { manager: SessionManager }) | undefined;

  beforeEach(() => {
    otel = new TestTelemetry();
  });

  afterEach(async () => {
    await running?.close();
    running = undefined;
    await otel.shutdown();
  });

  it('counts failed and timed-out calls of the memory store, and the 503s they cause', async () => {
    const store = new FlakyStore();
    running = await startServer(otel, store, { storeTimeout: 100 });
    const session = await running.manager.createSession('billing', randomBytes(32));
    const http = request(running.url);
    for (const mode of ['error', 'timeout', 'hang'] as const) {
      store.mode = mode;
      // A call can only hang behind a Promise: the guard is made to wait for `touch`.
      if (mode === 'hang') {
        jest.spyOn(running.manager, 'validateSessionNow').mockReturnValue(undefined);
      }
      expect((await http.get('/whoami').set(HEADER, session.id)).status).toBe(503);
    }
    const errors = await otel.points(M.storeErrors);
    const touch = { [A.storeOperation]: 'touch', [A.storeKind]: 'memory' };
    expect(count(errors, { ...touch, [A.errorType]: 'error' })).toBe(1);
    expect(count(errors, { ...touch, [A.errorType]: 'timeout' })).toBe(1);
    const requests = await otel.points(M.guardRequests);
    // A store's own time limit and the guard's (the hung call) are both timeouts.
    expect(count(requests, { [A.refusalReason]: 'store_unavailable' })).toBe(1);
    expect(count(requests, { [A.refusalReason]: 'store_timeout' })).toBe(2);
    const failedCalls = await otel.points(M.storeOperationDuration);
    const touched = { [A.storeOperation]: 'touch' };
    expect(count(failedCalls, { ...touched, [A.errorType]: 'timeout' })).toBe(1);
    expect(count(failedCalls, { ...touched, [A.errorType]: 'error' })).toBe(1);
  });

  it('counts the timeouts of a paused Redis as store errors of kind redis', async () => {
    const store = new RedisSessionStore({
      url: redis.server.url,
      encryptionKeys: [testEncryptionKey],
      keyPrefix: redis.prefix('otel'),
      commandTimeout: 100,
    });
    running = await startServer(otel, store, { storeTimeout: 1_000 });
    const session = await running.manager.createSession('billing', randomBytes(32));
    await redis.admin.call('CLIENT', 'PAUSE', '400', 'ALL');
    expect((await request(running.url).get('/whoami').set(HEADER, session.id)).status).toBe(503);
    expect(
      await otel.sum(M.storeErrors, {
        [A.storeOperation]: 'touch',
        [A.storeKind]: 'redis',
        [A.errorType]: 'timeout',
      }),
    ).toBe(1);
    expect(await otel.sum(M.guardRequests, { [A.refusalReason]: 'store_timeout' })).toBe(1);
    await redis.admin.call('CLIENT', 'UNPAUSE');
  });
});

describe('without a recorder', () => {
  it('records nothing when telemetry is disabled, and the app works the same', async () => {
    const otel = new TestTelemetry();
    const running = await startServer(otel, new MemorySessionStore(), {
      telemetry: { ...otel.options, enabled: false },
    });
    try {
      const session = await running.manager.createSession('billing', randomBytes(32));
      expect((await request(running.url).get('/whoami').set(HEADER, session.id)).status).toBe(200);
      expect(await otel.metrics()).toEqual([]);
      expect(otel.spans()).toEqual([]);
    } finally {
      await running.close();
      await otel.shutdown();
    }
  });
});
