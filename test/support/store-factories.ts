import { randomBytes } from 'node:crypto';
import { Cluster } from 'ioredis';
import { MemorySessionStore } from '../../lib/index.js';
import { RedisSessionStore } from '../../lib/redis.js';
import type { SessionStore } from '../../lib/index.js';
import { RedisCluster, RedisServer, withRealTimers } from './redis-server.js';

/**
 * A store under test. `create` gives a fresh, empty store; `teardown` releases what the factory
 * started (servers, clients). Suites run `describe.each(storeFactories)` so every store passes
 * the same tests.
 */
export interface StoreFactory {
  name: string;
  create(): Promise<SessionStore>;
  teardown?(): Promise<void>;
}

export const storeFactories: StoreFactory[] = [
  {
    name: 'memory',
    create: async () => new MemorySessionStore(),
  },
  redisFactory(),
  redisClusterFactory(),
];

/** One key for every Redis store of a test file; only tests of rotation need others. */
export const testEncryptionKey = randomBytes(32);

/**
 * `RedisSessionStore` on a redis-server this factory starts on a free port (once per test
 * file, again after a teardown). Each store gets its own key prefix, so it starts empty, and its
 * own client (from `url`), which `store.close()` closes.
 */
function redisFactory(): StoreFactory {
  let server: Promise<RedisServer> | undefined;
  let stores: RedisSessionStore[] = [];
  let n = 0;
  return {
    name: 'redis',
    create: () =>
      withRealTimers(async () => {
        server ??= RedisServer.start();
        const { url } = await server;
        const store = new RedisSessionStore({
          url,
          encryptionKeys: [testEncryptionKey],
          keyPrefix: `test${++n}:`,
        });
        stores.push(store);
        await store.count(); // connected before the test fakes anything
        return store;
      }),
    async teardown() {
      const started = server;
      const opened = stores;
      server = undefined;
      stores = [];
      await Promise.all(opened.map((store) => store.close()));
      await (await started)?.destroy();
    },
  };
}

/**
 * `RedisSessionStore` on a 3-master Redis Cluster this factory starts (once per test file,
 * again after a teardown), through one shared ioredis `Cluster` client given as `client`.
 */
function redisClusterFactory(): StoreFactory {
  let cluster: Promise<{ nodes: RedisCluster; client: Cluster }> | undefined;
  let n = 0;
  return {
    name: 'redis-cluster',
    create: () =>
      withRealTimers(async () => {
        cluster ??= RedisCluster.start(3).then(async (nodes) => {
          const client = new Cluster(nodes.startupNodes, {
            enableOfflineQueue: false,
            redisOptions: { maxRetriesPerRequest: 0, commandTimeout: 2_000 },
          });
          await new Promise<void>((resolve, reject) => {
            client.once('ready', resolve);
            client.once('error', reject);
          });
          return { nodes, client };
        });
        const { client } = await cluster;
        const store = new RedisSessionStore({
          client,
          encryptionKeys: [testEncryptionKey],
          keyPrefix: `test${++n}:`,
        });
        await store.count();
        return store;
      }),
    async teardown() {
      const started = cluster;
      cluster = undefined;
      if (started === undefined) return;
      const { nodes, client } = await started;
      await client.quit().catch(() => client.disconnect());
      await nodes.destroy();
    },
  };
}

/**
 * Every platform crossed with every store, for `describe.each(...)('... on $label', ...)`.
 *
 * @param platforms the HTTP platforms (each with a `name`)
 */
export function withEveryStore<P extends { name: string }>(
  platforms: readonly P[],
): { platform: P; factory: StoreFactory; label: string }[] {
  return platforms.flatMap((platform) =>
    storeFactories.map((factory) => ({
      platform,
      factory,
      label: `${platform.name} / ${factory.name}`,
    })),
  );
}

/**
 * Stops what every factory started. Call it once, from a file-level `afterAll`, so that the
 * Redis servers start once per file whatever the number of blocks.
 */
export async function teardownStoreFactories(): Promise<void> {
  for (const factory of storeFactories) await factory.teardown?.();
}
