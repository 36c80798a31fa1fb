import { jest } from '@jest/globals';
import { Redis } from 'ioredis';
import type { Session } from '../../lib/index.js';
import { RedisSessionStore, type RedisSessionStoreOptions } from '../../lib/redis.js';
import { RedisServer, freePort, realSleep } from '../support/redis-server.js';
import {
  RedisStoreFixture,
  testEncryptionKey as KEY,
  testSession,
} from '../support/store-factories.js';

/*
 * Redis away, frozen or slow: calls fail within commandTimeout with a clear error, nothing
 * queues, and the store works again by itself once Redis is back.
 */

const MIN = 60_000;
const redis = RedisStoreFixture.start();

describe('RedisSessionStore when Redis fails', () => {
  let faulty: RedisServer;
  let logger: {
    log: jest.Mock<(message: string) => void>;
    warn: jest.Mock<(message: string) => void>;
  };

  beforeAll(async () => {
    faulty = await RedisServer.start({ persistent: true });
  });

  afterAll(async () => {
    await faulty.destroy();
  });

  beforeEach(() => {
    // Connection-loss lines are expected here.
    logger = { log: jest.fn(), warn: jest.fn() };
  });

  /** A store on the shared fixture that logs to {@link logger}. */
  function open(options: Partial<RedisSessionStoreOptions>): RedisSessionStore {
    const store = redis.open(options);
    store.useLogger(logger);
    return store;
  }

  it('fails within commandTimeout when nothing listens, with a clear error', async () => {
    const store = open({ url: `redis://127.0.0.1:${await freePort()}` });
    const started = Date.now();
    const error = (await store.create(testSession()).catch((e: unknown) => e)) as Error;
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(error.message).toMatch(/^Redis session store: create failed: /);
    // Said once, through the logger the store was given after it was built.
    expect(logger.warn).toHaveBeenCalledTimes(1);
    expect(logger.warn.mock.calls[0][0]).toMatch(/^Redis session store: connection lost \(/);
    await store.close();
  });

  it('fails within commandTimeout when Redis hangs, then works again', async () => {
    const store = open({ url: faulty.url, commandTimeout: 300 });
    const s = testSession();
    await store.create(s);
    faulty.pause();
    try {
      const started = Date.now();
      const error = (await store
        .touch(s.id, Date.now(), MIN, undefined)
        .catch((e: unknown) => e)) as Error;
      const elapsed = Date.now() - started;
      expect(error.message).toMatch(/touch failed: Command timed out/);
      expect(elapsed).toBeGreaterThanOrEqual(290);
      expect(elapsed).toBeLessThan(800);

      // Under traffic: calls issued while others wait (held in the corked socket) still fail
      // within commandTimeout of their own start, not after the ones ahead of them.
      const timed = async (): Promise<{ ms: number; error: Error }> => {
        const from = Date.now();
        const failure = (await store
          .touch(s.id, Date.now(), MIN, undefined)
          .catch((e: unknown) => e)) as Error;
        return { ms: Date.now() - from, error: failure };
      };
      // Had their time counted from when the socket was uncorked (about 300 ms in), the later
      // ones would fail about 550 ms after they started.
      const first = [timed(), timed(), timed()];
      await realSleep(50);
      const later = [timed(), timed(), timed()];
      for (const { ms, error: failure } of await Promise.all([...first, ...later])) {
        expect(failure.message).toMatch(/touch failed: Command timed out/);
        expect(ms).toBeGreaterThanOrEqual(290);
        expect(ms).toBeLessThan(500);
      }
    } finally {
      faulty.resume();
    }
    expect(await store.touch(s.id, Date.now(), MIN, undefined)).toBeDefined();
    expect((store.client as Redis).stream.writableCorked).toBe(0);
  });

  it('bounds calls on a given client without a commandTimeout of its own', async () => {
    const client = new Redis(faulty.port, '127.0.0.1', { enableOfflineQueue: false });
    await new Promise((resolve) => client.once('ready', resolve));
    const store = new RedisSessionStore({ client, encryptionKeys: [KEY], commandTimeout: 200 });
    store.useLogger(logger);
    await store.count();
    faulty.pause();
    try {
      const started = Date.now();
      await expect(store.count()).rejects.toThrow(/count failed: .*200 ms/);
      expect(Date.now() - started).toBeLessThan(700);
    } finally {
      faulty.resume();
    }
    expect(await store.count()).toBeGreaterThanOrEqual(0);
    client.disconnect();
  });

  it('fails fast while Redis is down, and recovers within 2 s of its restart', async () => {
    const store = open({ url: faulty.url });
    const kept = testSession();
    await store.create(kept);
    const limiter = store.createRateLimiter({ maxRequests: 100, windowMs: MIN });
    await faulty.kill();

    const started = Date.now();
    await expect(store.touch(kept.id, Date.now(), MIN, undefined)).rejects.toThrow(/touch failed/);
    await expect(store.create(testSession())).rejects.toThrow(/create failed/);
    await expect(limiter.checkLimit('svc')).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(1_500);
    // Nothing queues while Redis is away.
    expect((store.client as unknown as { offlineQueue: unknown[] }).offlineQueue).toHaveLength(0);

    await faulty.restart();
    const restarted = Date.now();
    let back: Session | undefined;
    while (back === undefined && Date.now() - restarted < 3_000) {
      back = await store.touch(kept.id, Date.now(), MIN, undefined).catch(() => undefined);
      if (back === undefined) await realSleep(25);
    }
    expect(Date.now() - restarted).toBeLessThan(2_000);
    // Redis kept the session (AOF): it is still valid, key and all.
    expect(back?.sessionKey.equals(kept.sessionKey)).toBe(true);
    expect((await limiter.checkLimit('svc')).allowed).toBe(true);
  });
});
