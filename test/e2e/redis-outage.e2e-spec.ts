import { randomBytes } from 'node:crypto';
import { jest } from '@jest/globals';
import { Controller, Get, Logger, type INestApplication, UseGuards } from '@nestjs/common';
import {
  HealthCheck,
  HealthCheckService,
  TerminusModule,
  type HealthCheckResult,
} from '@nestjs/terminus';
import request from 'supertest';
import {
  CurrentSession,
  MeshSessionModule,
  SessionGuard,
  SessionManager,
  type Session,
} from '../../lib/index.js';
import { SessionHealthIndicator } from '../../lib/health.js';
import { RedisSessionStore } from '../../lib/redis.js';
import { httpAdapters, startHttpApp } from '../support/http-app.js';
import { RedisServer, realSleep } from '../support/redis-server.js';

/*
 * Redis dies, hangs and comes back while requests flow. The guard must answer 503 with
 * Retry-After, fast, never 200 and never 401; traffic must resume by itself within 2 s of
 * Redis's return, with the sessions Redis kept still valid.
 */

interface Answer {
  status: number;
  startedAt: number;
  ms: number;
  retryAfter: string | undefined;
}

@Controller()
class OutageController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly sessions: SessionHealthIndicator,
  ) {}

  @UseGuards(SessionGuard)
  @Get('whoami')
  whoami(@CurrentSession() session: Session): { id: string } {
    return { id: session.id };
  }

  @Get('health')
  @HealthCheck()
  check(): Promise<HealthCheckResult> {
    return this.health.check([() => this.sessions.isHealthy()]);
  }
}

describe.each(httpAdapters)('Redis outage on $name', (adapter) => {
  let server: RedisServer;
  let app: INestApplication;
  let manager: SessionManager;
  let session: Session;

  beforeAll(async () => {
    // AOF with fsync always: a killed and restarted Redis still has the sessions.
    server = await RedisServer.start({ persistent: true });
    const store = new RedisSessionStore({ url: server.url, encryptionKeys: [randomBytes(32)] });
    // The store logs the outage and its end; that is expected here.
    store.useLogger({ log: () => undefined, warn: () => undefined });
    app = await startHttpApp(
      {
        imports: [
          TerminusModule,
          MeshSessionModule.forRoot({
            cleanupInterval: false,
            store,
            rateLimit: { maxRequests: 100_000, windowMs: 60_000 },
          }),
        ],
        controllers: [OutageController],
        providers: [SessionHealthIndicator],
      },
      adapter,
    );
    manager = app.get(SessionManager);
    session = await manager.createSession('caller', randomBytes(32));
  });

  afterAll(async () => {
    await app?.close();
    await server?.destroy();
  });

  beforeEach(() => {
    // The guard logs the outage; that is expected here.
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
  });

  afterEach(() => {
    jest.restoreAllMocks();
  });

  async function ask(): Promise<Answer> {
    const startedAt = Date.now();
    const res = await request(app.getHttpServer())
      .get('/whoami')
      .set('x-mesh-session-id', session.id);
    return {
      status: res.status,
      startedAt,
      ms: Date.now() - startedAt,
      retryAfter: res.headers['retry-after'],
    };
  }

  /** Sends requests from `workers` loops until `stop()`, recording every answer. */
  function flow(workers: number): { answers: Answer[]; stop: () => Promise<void> } {
    const answers: Answer[] = [];
    let running = true;
    const loops = Array.from({ length: workers }, async () => {
      while (running) answers.push(await ask());
    });
    return {
      answers,
      stop: async () => {
        running = false;
        await Promise.all(loops);
      },
    };
  }

  async function waitFor(check: () => boolean, ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (!check() && Date.now() < deadline) await realSleep(10);
  }

  /** Polls until the guard lets the session through again; returns how long that took. */
  async function recovery(): Promise<number> {
    const from = Date.now();
    while (Date.now() - from < 5_000) {
      if ((await ask()).status === 200) return Date.now() - from;
      await realSleep(20);
    }
    return Infinity;
  }

  it('answers 503 with Retry-After, never 200 or 401, while Redis is killed, then recovers', async () => {
    const traffic = flow(4);
    await waitFor(() => traffic.answers.filter((a) => a.status === 200).length >= 20, 5_000);
    await server.kill();
    const killedAt = Date.now();
    await waitFor(() => traffic.answers.filter((a) => a.startedAt > killedAt).length >= 40, 5_000);
    await traffic.stop();

    const during = traffic.answers.filter((a) => a.startedAt > killedAt);
    expect(during.length).toBeGreaterThanOrEqual(40);
    expect(during.filter((a) => a.status !== 503)).toEqual([]);
    expect(during.every((a) => a.retryAfter === '1')).toBe(true);
    expect(Math.max(...during.map((a) => a.ms))).toBeLessThan(1_000);
    // Before the kill, nothing but 200s; at no time a 401 (no re-handshake storm).
    expect(
      traffic.answers.filter((a) => a.startedAt < killedAt && a.status !== 200 && a.status !== 503),
    ).toEqual([]);

    const health = await request(app.getHttpServer()).get('/health');
    expect(health.status).toBe(503);
    expect(health.body.error.sessions).toMatchObject({
      status: 'down',
      message: 'Session store unavailable',
    });
    await expect(manager.createSession('caller', randomBytes(32))).rejects.toThrow(
      /^Redis session store: create failed: /,
    );

    await server.restart();
    expect(await recovery()).toBeLessThan(2_000);
    // The session Redis kept is valid again, with no app restart.
    const after = await ask();
    expect(after.status).toBe(200);
    expect((await request(app.getHttpServer()).get('/health')).status).toBe(200);
  });

  it('answers 503 within about 1 s while Redis hangs, then recovers', async () => {
    server.pause();
    let answers: Answer[];
    try {
      answers = await Promise.all([ask(), ask(), ask()]);
    } finally {
      server.resume();
    }
    for (const answer of answers) {
      expect(answer.status).toBe(503);
      expect(answer.retryAfter).toBe('1');
      expect(answer.ms).toBeLessThan(1_200);
    }
    expect(await recovery()).toBeLessThan(2_000);
  });
});
