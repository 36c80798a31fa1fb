import { randomBytes } from 'node:crypto';
import { jest } from '@jest/globals';
import { Test } from '@nestjs/testing';
import { Redis } from 'ioredis';
import { MeshSessionModule, SessionManager, SessionStore } from '../../lib/index.js';
import { RedisSessionStore } from '../../lib/redis.js';
import { RedisStoreMessages } from '../../lib/stores/redis/redis-store.messages.js';
import { RedisStoreFixture, testEncryptionKey as KEY } from '../support/store-factories.js';

/*
 * The client a store uses: one it created is closed with the store (and with the Nest app),
 * one it was given is never closed, and is used as configured.
 */

const redis = RedisStoreFixture.start();

describe('RedisSessionStore clients', () => {
  it('closes a client it created, and never one it was given', async () => {
    const owned = redis.open();
    await owned.count();
    await owned.close();
    expect(owned.client.status).toBe('end');
    await expect(owned.count()).rejects.toThrow(/closed/);

    const client = new Redis(redis.server.port, '127.0.0.1', { enableOfflineQueue: false });
    await new Promise((resolve) => client.once('ready', resolve));
    const borrowed = new RedisSessionStore({ client, encryptionKeys: [KEY] });
    expect(borrowed.client).toBe(client);
    await borrowed.count();
    await borrowed.close();
    expect(client.status).toBe('ready');
    expect(await client.ping()).toBe('PONG');
    client.disconnect();
  });

  it('plugs into forRootAsync; app shutdown closes only a client the store created', async () => {
    const given = new Redis(redis.server.port, '127.0.0.1', { enableOfflineQueue: false });
    const start = (store: () => RedisSessionStore) =>
      Test.createTestingModule({
        imports: [
          MeshSessionModule.forRootAsync({
            useFactory: async () => ({ store: store(), cleanupInterval: false }),
          }),
        ],
      })
        .compile()
        .then((moduleRef) => moduleRef.createNestApplication({ logger: false }).init());
    const owning = await start(() => redis.open());
    const borrowing = await start(
      () => new RedisSessionStore({ client: given, encryptionKeys: [KEY], keyPrefix: 'given:' }),
    );
    const store = owning.get(SessionStore) as RedisSessionStore;
    expect(store).toBeInstanceOf(RedisSessionStore);
    const session = await owning.get(SessionManager).createSession('svc', randomBytes(32));
    expect((await store.get(session.id, Date.now()))?.serviceId).toBe('svc');
    await borrowing.get(SessionManager).createSession('svc', randomBytes(32));
    await Promise.all([owning.close(), borrowing.close()]);
    expect(store.client.status).toBe('end');
    expect(given.status).toBe('ready');
    given.disconnect();
  });

  it('warns once when a given client would queue commands while Redis is offline', async () => {
    const logger = { log: jest.fn(), warn: jest.fn() };
    const client = new Redis(redis.server.port, '127.0.0.1', { lazyConnect: true });
    const store = new RedisSessionStore({ client, encryptionKeys: [KEY] });
    // Given after construction, as MeshSessionModule gives its logger: the warning reaches it.
    store.useLogger(logger);
    // A lazy client is connected on first use.
    expect(await store.count()).toBeGreaterThanOrEqual(0);
    expect(logger.warn).toHaveBeenCalledWith(expect.stringContaining('enableOfflineQueue'));
    expect(logger.warn).toHaveBeenCalledWith(RedisStoreMessages.redisOfflineQueue());
    await store.count();
    expect(logger.warn).toHaveBeenCalledTimes(1);
    expect(logger.log).not.toHaveBeenCalled();
    client.disconnect();
  });
});
