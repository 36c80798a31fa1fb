import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Redis, type RedisOptions } from 'ioredis';
import type { RedisSessionStore } from '../../lib/redis.js';
import { loadIoredis } from '../../lib/stores/redis/redis-client.js';
import { RedisStoreFixture, testSession } from '../support/store-factories.js';

/*
 * Which ioredis the Redis suites run on, and the store on every protocol it speaks. By default
 * it is the dev install (the major of package.json's devDependency); scripts/test-ioredis-6.sh
 * points `ioredis` at another install (MESH_IOREDIS_DIR) and says which major it expects
 * (MESH_IOREDIS_MAJOR), and this file fails when the run used anything else.
 */

const MIN = 60_000;
const root = resolve(import.meta.dirname, '../..');
const require = createRequire(import.meta.url);
const { version } = require('ioredis/package.json') as { version: string };
const major = Number(version.split('.')[0]);
const redis = RedisStoreFixture.start();

/** The major the run must use: MESH_IOREDIS_MAJOR, or the devDependency's. */
function expectedMajor(): number {
  const fromEnv = process.env.MESH_IOREDIS_MAJOR;
  if (fromEnv !== undefined && fromEnv !== '') return Number(fromEnv);
  const pkg = JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8')) as {
    devDependencies: Record<string, string>;
  };
  return Number(/\d+/.exec(pkg.devDependencies.ioredis)?.[0]);
}

describe('the ioredis the Redis suites run on', () => {
  it('has the expected major version', () => {
    const expected = expectedMajor();
    expect(Number.isInteger(expected)).toBe(true);
    // One line in the run's output says which ioredis ran.
    console.info(`ioredis ${version} (expected major ${expected})`);
    expect(major).toBe(expected);
  });

  it('is the copy the store loads, and the one the tests import', () => {
    expect(loadIoredis()).toBe(Redis);
    const dir = process.env.MESH_IOREDIS_DIR;
    const expectedDir =
      dir !== undefined && dir !== '' ? dir : resolve(root, 'node_modules/ioredis');
    expect(require.resolve('ioredis').startsWith(resolve(expectedDir))).toBe(true);
  });
});

/*
 * ioredis 6 speaks RESP3 by default (`protocol: 3`), and can map RESP3 replies to their own
 * types (`replyMapping: 'resp3'`); ioredis 5 speaks RESP2 only. The scripts' replies must read
 * the same on every one of them.
 */
const protocols: { label: string; options: Record<string, unknown>; resp: number }[] =
  major >= 6
    ? [
        { label: 'RESP2 (protocol: 2)', options: { protocol: 2 }, resp: 2 },
        { label: 'RESP3 (the default)', options: {}, resp: 3 },
        { label: "RESP3, replyMapping: 'resp3'", options: { replyMapping: 'resp3' }, resp: 3 },
      ]
    : [{ label: 'RESP2 (the only protocol)', options: {}, resp: 2 }];

describe.each(protocols)(`RedisSessionStore on ioredis ${major}, $label`, ({ options, resp }) => {
  const givenClients: Redis[] = [];

  afterAll(() => {
    for (const client of givenClients) client.disconnect();
  });

  /** The store on a client it creates, and on a client it is given, both with `options`. */
  function stores(): RedisSessionStore[] {
    const { port } = redis.server;
    const redisOptions = { host: '127.0.0.1', port, ...options } as RedisOptions;
    const given = new Redis({ ...redisOptions, enableOfflineQueue: false, commandTimeout: 2_000 });
    givenClients.push(given);
    return [
      redis.open({ url: undefined, redisOptions }),
      redis.open({ url: undefined, client: given }),
    ];
  }

  it('speaks that protocol, and every store operation reads its replies right', async () => {
    for (const store of stores()) {
      const now = Date.now();
      expect(await store.count()).toBe(0);
      expect(String(await store.client.call('CLIENT', 'INFO'))).toMatch(
        new RegExp(`\\bresp=${resp}\\b`),
      );

      const a = testSession('svc-a', MIN);
      const b = testSession('svc-b', 1_000);
      await store.create(a);
      await store.create(b);
      await expect(store.create(a)).rejects.toThrow();
      expect((await store.get(a.id, now))?.sessionKey.equals(a.sessionKey)).toBe(true);
      expect(await store.get('missing', now)).toBeUndefined();
      expect(await store.touch('missing', now, MIN, undefined)).toBeUndefined();

      const slid = await store.touch(a.id, now + 10, MIN, undefined);
      expect(slid?.lastActivity).toBe(now + 10);
      expect(slid?.sessionKey.equals(a.sessionKey)).toBe(true);
      expect(slid?.metadata).toEqual({ note: 'hello' });

      const first = await store.claimNonceAndTouch(a.id, 'n1', MIN, now + 20, MIN, undefined);
      expect(first.nonceFresh).toBe(true);
      expect(first.session?.id).toBe(a.id);
      const replay = await store.claimNonceAndTouch(a.id, 'n1', MIN, now + 30, MIN, undefined);
      expect(replay).toEqual({ session: undefined, nonceFresh: false });
      expect(await store.claimNonce('scope', 'n2', MIN, now)).toBe(true);
      expect(await store.claimNonce('scope', 'n2', MIN, now)).toBe(false);

      const patched = await store.updateMetadata(a.id, { role: 'admin' }, now);
      expect(patched?.metadata).toEqual({ note: 'hello', role: 'admin' });
      expect(await store.updateMetadata('missing', { role: 'x' }, now)).toBeUndefined();
      expect((await store.findByServiceId('svc-a', now)).map((s) => s.id)).toEqual([a.id]);

      expect(await store.count()).toBe(2);
      expect(await store.deleteExpired(now + 5_000)).toBe(1);
      const expired = await store.touch(b.id, now + 5_000, MIN, undefined);
      expect(expired).toBeUndefined();
      expect((await store.delete(a.id))?.id).toBe(a.id);
      expect(await store.delete(a.id)).toBeUndefined();
      expect(await store.count()).toBe(0);

      const limiter = store.createRateLimiter({ maxRequests: 2, windowMs: MIN });
      const results = [];
      for (let i = 0; i < 3; i++) results.push((await limiter.checkLimit('svc')).allowed);
      expect(results).toEqual([true, true, false]);
    }
  });
});
