import { jest } from '@jest/globals';
import type { Session } from '../../lib/index.js';
import { RedisSessionStore } from '../../lib/redis.js';
import { RedisKeyLayout } from '../../lib/stores/redis/redis-key-layout.js';
import type { RedisServer } from '../support/redis-server.js';
import { realNow, realSleep } from '../support/redis-server.js';
import { RedisSentinelSet, pollUntil } from '../support/redis-sentinel.js';
import { testEncryptionKey, testSession } from '../support/store-factories.js';

/*
 * RedisSessionStore through Redis Sentinel (`redisOptions: { sentinels, name }`), on a real
 * master, replica and three sentinels, through a graceful failover and through the crash of
 * the master. Sessions written before the failover (and replicated) stay valid, new ones can
 * be created on the new master, and while the master changes every call either works or fails
 * fast with the store's error.
 */

const MIN = 60_000;
const COMMAND_TIMEOUT = 500;
/** How much longer than `commandTimeout` a call may take, at most, while the master changes. */
const SLACK_MS = 250;
/** Bound on the store's move to the new master, once the sentinels agree on it. */
const SWITCH_TIMEOUT_MS = 10_000;
/**
 * Bound on the move after a graceful failover, from SENTINEL FAILOVER on. It takes about 1 s;
 * a client that did not follow the sentinels' announcement would stay on the old master until
 * the sentinels demote it, some 10 s later.
 */
const GRACEFUL_SWITCH_MS = 5_000;

/** One call made while the master changes. */
interface Call {
  ms: number;
  error?: string;
}

describe('RedisSessionStore on Redis Sentinel', () => {
  let graceful: RedisSentinelSet;
  let crash: RedisSentinelSet;
  const stores: RedisSessionStore[] = [];
  let prefixes = 0;

  beforeAll(async () => {
    // Two sets, started together: each test fails over its own.
    const sets = await Promise.allSettled([RedisSentinelSet.start(), RedisSentinelSet.start()]);
    const failed = sets.find((set) => set.status === 'rejected');
    if (failed !== undefined) {
      await Promise.all(sets.map((set) => (set.status === 'fulfilled' ? set.value.destroy() : 0)));
      throw failed.reason;
    }
    [graceful, crash] = sets.map((set) => (set as PromiseFulfilledResult<RedisSentinelSet>).value);
  }, 30_000);

  afterAll(async () => {
    await Promise.all(stores.map((store) => store.close()));
    await Promise.all([graceful?.destroy(), crash?.destroy()]);
  });

  /** A store on the set's sentinels, logging to `logger`, closed in `afterAll`. */
  function open(
    set: RedisSentinelSet,
    keyPrefix: string,
    logger = { log: jest.fn(), warn: jest.fn() },
  ): RedisSessionStore {
    const store = new RedisSessionStore({
      redisOptions: { sentinels: set.sentinelAddresses, name: set.name },
      encryptionKeys: [testEncryptionKey],
      keyPrefix,
      commandTimeout: COMMAND_TIMEOUT,
    });
    store.useLogger(logger);
    stores.push(store);
    return store;
  }

  /** Creates `n` sessions and waits until the replica holds every one of them. */
  async function sessionsOnReplica(
    store: RedisSessionStore,
    layout: RedisKeyLayout,
    replica: RedisServer,
    n: number,
  ): Promise<Session[]> {
    const sessions = Array.from({ length: n }, (_, i) => testSession(`svc-${i % 2}`, 10 * MIN));
    await Promise.all(sessions.map((s) => store.create(s)));
    for (const s of sessions) {
      expect((await store.get(s.id, Date.now()))?.sessionKey.equals(s.sessionKey)).toBe(true);
    }
    const records = sessions.map((s) => layout.session(s.id).record);
    await pollUntil('the replica to hold every session', 5_000, async () =>
      Number(await replica.cli('exists', ...records)) === n ? true : undefined,
    );
    return sessions;
  }

  /**
   * Calls the store over and over (a read of `id`, then a create, and so on) until stopped;
   * records how long each call took and how it failed.
   */
  function probe(store: RedisSessionStore, id: string): { stop(): Promise<Call[]> } {
    const calls: Call[] = [];
    let running = true;
    const loop = (async () => {
      for (let i = 0; running; i++) {
        const started = realNow();
        const call: Promise<unknown> =
          i % 2 === 0 ? store.get(id, Date.now()) : store.create(testSession('svc-probe', MIN));
        const error = await call.then(
          () => undefined,
          (e: unknown) => (e instanceof Error ? e.message : String(e)),
        );
        calls.push({ ms: realNow() - started, error });
        await realSleep(10);
      }
    })();
    return {
      async stop() {
        running = false;
        await loop;
        return calls;
      },
    };
  }

  /** Polls until a session the store creates lands on `master`; returns that session. */
  function storeWritesTo(
    store: RedisSessionStore,
    layout: RedisKeyLayout,
    master: RedisServer,
  ): Promise<Session> {
    return pollUntil(
      `the store to write to the master on ${master.port}`,
      SWITCH_TIMEOUT_MS,
      async () => {
        const s = testSession('svc-after', MIN);
        await store.create(s);
        return Number(await master.cli('exists', layout.session(s.id).record)) === 1
          ? s
          : undefined;
      },
    );
  }

  /** Every call made while the master changed either worked or failed fast, with the store's error. */
  function expectFailFast(calls: Call[]): void {
    expect(calls.length).toBeGreaterThan(0);
    for (const call of calls) {
      expect(call.ms).toBeLessThan(COMMAND_TIMEOUT + SLACK_MS);
      if (call.error !== undefined) {
        expect(call.error).toMatch(/^Redis session store: (get|create) failed: /);
      }
    }
  }

  /** The sessions are still valid through `store`, with their keys, and one of them slides. */
  async function expectStillValid(store: RedisSessionStore, sessions: Session[]): Promise<void> {
    const now = Date.now();
    for (const s of sessions) {
      const found = await store.get(s.id, now);
      expect(found?.serviceId).toBe(s.serviceId);
      expect(found?.sessionKey.equals(s.sessionKey)).toBe(true);
    }
    const slid = await store.touch(sessions[0].id, now, MIN, undefined);
    expect(slid?.lastActivity).toBe(now);
  }

  it('moves to the new master after SENTINEL FAILOVER, keeping the replicated sessions', async () => {
    const keyPrefix = `sentinel${++prefixes}:`;
    const layout = new RedisKeyLayout(keyPrefix);
    const logger = { log: jest.fn(), warn: jest.fn() };
    const store = open(graceful, keyPrefix, logger);
    const from = graceful.server(await graceful.masterPort());
    const before = await sessionsOnReplica(store, layout, graceful.other(from.port), 20);

    const calls = probe(store, before[0].id);
    const started = realNow();
    const { to } = await graceful.failover();
    const first = await storeWritesTo(store, layout, graceful.server(to));
    const switched = realNow() - started;
    expectFailFast(await calls.stop());
    // The sentinels' announcement moves the client: it does not wait for the old master to
    // be demoted (several seconds later) to notice.
    expect(switched).toBeLessThan(GRACEFUL_SWITCH_MS);

    await expectStillValid(store, before);
    expect((await store.get(first.id, Date.now()))?.serviceId).toBe('svc-after');
    const created = testSession('svc-new', MIN);
    await store.create(created);
    expect(await graceful.server(to).cli('exists', layout.session(created.id).record)).toMatch(
      /^1/,
    );
    expect((await store.findByServiceId('svc-0', Date.now())).length).toBe(10);
    const limiter = store.createRateLimiter({ maxRequests: 5, windowMs: MIN });
    expect((await limiter.checkLimit('svc-0')).allowed).toBe(true);

    // A store started after the failover finds the new master through the sentinels.
    const later = open(graceful, keyPrefix);
    await expectStillValid(later, before);
    expect(logger.warn).not.toHaveBeenCalled();
  }, 30_000);

  it('fails fast while the master is down, then works on the promoted replica', async () => {
    const keyPrefix = `sentinel${++prefixes}:`;
    const layout = new RedisKeyLayout(keyPrefix);
    const logger = { log: jest.fn(), warn: jest.fn() };
    const store = open(crash, keyPrefix, logger);
    const from = crash.server(await crash.masterPort());
    const before = await sessionsOnReplica(store, layout, crash.other(from.port), 20);

    const calls = probe(store, before[0].id);
    const { to } = await crash.crashMaster();
    await storeWritesTo(store, layout, crash.server(to));
    const made = await calls.stop();
    expectFailFast(made);
    // The probe ran through the outage: some of its calls failed (fast), none hung.
    expect(made.some((call) => call.error !== undefined)).toBe(true);
    expect(logger.warn).toHaveBeenCalledWith(
      expect.stringMatching(/^Redis session store: connection lost/),
    );
    expect(logger.log).toHaveBeenCalledWith(
      expect.stringMatching(/^Redis session store: connection restored/),
    );

    await expectStillValid(store, before);
    const created = testSession('svc-new', MIN);
    await store.create(created);
    expect((await store.get(created.id, Date.now()))?.sessionKey.equals(created.sessionKey)).toBe(
      true,
    );
  }, 30_000);
});
