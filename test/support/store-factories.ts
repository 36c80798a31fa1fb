import { randomBytes, randomUUID } from 'node:crypto';
import { Cluster, Redis } from 'ioredis';
import { MemorySessionStore, MeshSession } from '../../lib/index.js';
import { RedisSessionStore, type RedisSessionStoreOptions } from '../../lib/redis.js';
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

/**
 * A session to store, with metadata (`{ note: 'hello' }`) so that records carry some.
 *
 * @param serviceId its service
 * @param expiresIn how long it lives from now (ms)
 * @param id its id
 */
export function testSession(
  serviceId = 'svc',
  expiresIn = 60_000,
  id: string = randomUUID(),
): MeshSession {
  const now = Date.now();
  return new MeshSession(id, serviceId, randomBytes(32), now, now, now + expiresIn, {
    note: 'hello',
  });
}

/**
 * One redis-server for a whole spec file, an admin client on it, and the stores the tests open
 * on it: {@link RedisStoreFixture.start} registers the file's `beforeAll` and `afterAll`, which
 * start the server and then close every store opened through {@link open} and stop it.
 */
export class RedisStoreFixture {
  private started: { server: RedisServer; admin: Redis } | undefined;
  private prefixes = 0;
  private readonly opened: RedisSessionStore[] = [];

  private constructor() {}

  /** A fixture whose server runs from the file's `beforeAll` to its `afterAll`. */
  static start(): RedisStoreFixture {
    const fixture = new RedisStoreFixture();
    beforeAll(async () => {
      const server = await RedisServer.start();
      fixture.started = { server, admin: new Redis(server.port, '127.0.0.1') };
    });
    afterAll(async () => {
      await Promise.all(fixture.opened.map((store) => store.close()));
      fixture.started?.admin.disconnect();
      await fixture.started?.server.destroy();
    });
    return fixture;
  }

  /** The server, once `beforeAll` has run. */
  get server(): RedisServer {
    return this.ready().server;
  }

  /** A client of the test's own, for looking into Redis. */
  get admin(): Redis {
    return this.ready().admin;
  }

  /**
   * A key prefix no other store of the file uses.
   *
   * @param name what the prefix starts with
   */
  prefix(name = 'spec'): string {
    return `${name}${++this.prefixes}:`;
  }

  /**
   * A store on the server, closed in `afterAll`; a fresh prefix unless one is given.
   *
   * @param options overrides of the url, the key ({@link testEncryptionKey}) and the prefix
   */
  open(options: Partial<RedisSessionStoreOptions> = {}): RedisSessionStore {
    const store = new RedisSessionStore({
      url: this.server.url,
      encryptionKeys: [testEncryptionKey],
      keyPrefix: this.prefix(),
      ...options,
    });
    this.opened.push(store);
    return store;
  }

  private ready(): { server: RedisServer; admin: Redis } {
    if (this.started === undefined) throw new Error('the Redis fixture is used before beforeAll');
    return this.started;
  }
}
