import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { RedisSessionStore } from '../../lib/redis.js';
import {
  REDIS_PARTITION_TAGS,
  REDIS_PARTITIONS,
  RedisKeyLayout,
} from '../../lib/stores/redis/redis-key-layout.js';
import { dumpKeys, idInPartition } from '../support/redis-keys.js';
import { RedisServer, realSleep } from '../support/redis-server.js';
import {
  RedisStoreFixture,
  testEncryptionKey as KEY,
  testSession,
} from '../support/store-factories.js';

/*
 * Where the store keeps what: key names, partitions and their Cluster slots, TTLs, and the
 * batches that walk a partition's indexes.
 */

const MIN = 60_000;
const redis = RedisStoreFixture.start();

describe('RedisSessionStore partitions', () => {
  it('derive every key name as documented: sha256 digests, partition = first byte % 32', () => {
    const layout = new RedisKeyLayout('mesh:');
    const sha = (...parts: string[]) => {
      const h = createHash('sha256');
      for (const part of parts) h.update(part);
      return h.digest();
    };
    for (let i = 0; i < 2_000; i++) {
      const id = randomUUID();
      const digest = sha(id);
      const base = `mesh:{${REDIS_PARTITION_TAGS[digest[0] % REDIS_PARTITIONS]}}:`;
      const hid = digest.toString('base64url');
      expect(layout.session(id)).toEqual({
        hid,
        base,
        record: `${base}s:${hid}`,
        index: `${base}x`,
      });
      const nonce = randomBytes(16).toString('base64url');
      expect(layout.nonce(id, nonce)).toBe(
        `${base}n:${sha(id, '\u0000', nonce).toString('base64url')}`,
      );
      expect(layout.serviceHash(`svc-${i}`)).toBe(sha(`svc-${i}`).toString('base64url'));
    }
  });

  it('spread their hash tags evenly over the Cluster slots', async () => {
    const node = await RedisServer.start({ cluster: true });
    try {
      const client = new Redis(node.port, '127.0.0.1');
      const slots: number[] = [];
      for (const tag of REDIS_PARTITION_TAGS) {
        slots.push(Number(await client.cluster('KEYSLOT', `mesh:{${tag}}:x`)));
      }
      client.disconnect();
      expect(REDIS_PARTITION_TAGS).toHaveLength(REDIS_PARTITIONS);
      slots.forEach((slot, p) => {
        expect(slot).toBeGreaterThanOrEqual(512 * p);
        expect(slot).toBeLessThan(512 * (p + 1));
      });
    } finally {
      await node.destroy();
    }
  });
});

describe('RedisSessionStore keys on Redis', () => {
  it('gives every session key a TTL that follows expiresAt, and Redis drops it itself', async () => {
    const store = redis.open();
    const admin = redis.admin;
    const layout = new RedisKeyLayout(store['keys'].prefix);
    const s = testSession('svc', 150);
    await store.create(s);
    const { record } = layout.session(s.id);
    expect(await admin.pttl(record)).toBeGreaterThan(50);
    expect(await admin.pttl(record)).toBeLessThanOrEqual(150);
    await store.touch(s.id, Date.now(), 10 * MIN, undefined);
    const slid = await admin.pttl(record);
    expect(slid).toBeGreaterThan(10 * MIN - 1_000);
    expect(slid).toBeLessThanOrEqual(10 * MIN);

    const short = testSession('svc', 80);
    await store.create(short);
    const shortKey = layout.session(short.id).record;
    const deadline = Date.now() + 2_000;
    while ((await admin.exists(shortKey)) === 1 && Date.now() < deadline) await realSleep(20);
    expect(await admin.exists(shortKey)).toBe(0);
    // The index entry outlives the record until cleanup prunes it; the count leaves it out.
    const index = layout.session(short.id).index;
    expect(await store.count()).toBe(1);
    expect(
      await admin.zscore(index, layout.session(short.id).hid + layout.serviceHash('svc')),
    ).toBe('0');
    expect(await store.deleteExpired(Date.now())).toBe(1);
    expect(await store.count()).toBe(1);
    expect(
      await admin.zscore(index, layout.session(short.id).hid + layout.serviceHash('svc')),
    ).toBe(null);
    expect(
      await admin.sismember(
        layout.serviceIndex(layout.session(short.id).base, layout.serviceHash('svc')),
        layout.session(short.id).hid,
      ),
    ).toBe(0);
  });

  it('writes the documented key layout, with hashed ids only', async () => {
    const store = redis.open({ keyPrefix: 'layout:' });
    const s = testSession('billing');
    await store.create(s);
    await store.claimNonce(s.id, 'nonce-1', MIN, Date.now());
    const limiter = store.createRateLimiter({ maxRequests: 5, windowMs: MIN });
    await limiter.checkLimit('billing');
    const keys = (await dumpKeys(redis.admin, 'layout:')).map((entry) => entry.key).sort();
    const b64 = '[A-Za-z0-9_-]{43}';
    const patterns = [
      new RegExp(`^layout:\\{p\\d\\d\\.\\d+\\}:s:${b64}$`),
      new RegExp(`^layout:\\{p\\d\\d\\.\\d+\\}:x$`),
      new RegExp(`^layout:\\{p\\d\\d\\.\\d+\\}:v:${b64}$`),
      new RegExp(`^layout:\\{p\\d\\d\\.\\d+\\}:n:${b64}$`),
      /^layout:rl:billing$/,
    ];
    expect(keys).toHaveLength(5);
    for (const pattern of patterns) expect(keys.some((key) => pattern.test(key))).toBe(true);
    // The record, its index entry, its service entry and its nonce share one hash tag.
    const tags = new Set(
      keys.filter((k) => !k.includes(':rl:')).map((k) => /\{[^}]+\}/.exec(k)?.[0]),
    );
    expect(tags.size).toBe(1);
  });

  it('works through a client with its own ioredis keyPrefix', async () => {
    const client = new Redis(redis.server.port, '127.0.0.1', {
      keyPrefix: 'app:',
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
    });
    await new Promise((resolve) => client.once('ready', resolve));
    const store = new RedisSessionStore({ client, encryptionKeys: [KEY], keyPrefix: 'mesh:' });
    const a = testSession('pfx', 1_000);
    const b = testSession('pfx');
    await store.create(a);
    await store.create(b);
    const now = Date.now();
    expect((await store.touch(b.id, now, MIN, undefined))?.lastActivity).toBe(now);
    expect((await store.findByServiceId('pfx', now)).map((s) => s.id).sort()).toEqual(
      [a.id, b.id].sort(),
    );
    expect(await store.deleteExpired(now + 2_000)).toBe(1);
    expect(await store.deleteByServiceId('pfx')).toBe(1);
    expect(await store.count()).toBe(0);
    expect((await dumpKeys(redis.admin, 'mesh:')).length).toBe(0);
    await store.close();
    client.disconnect();
  });

  it('handles more than one batch of a service in one partition', async () => {
    const store = redis.open();
    const layout = new RedisKeyLayout(store['keys'].prefix);
    const now = Date.now();
    const ids: string[] = [];
    for (let i = 0; i < 600; i++) {
      const id = idInPartition(layout, 5);
      ids.push(id);
      await store.create(testSession('big', i < 300 ? 1_000 : MIN, id));
    }
    expect(await store.findByServiceId('big', now)).toHaveLength(600);
    expect(await store.findByServiceId('big', now + 2_000)).toHaveLength(300);
    expect(await store.deleteExpired(now + 2_000)).toBe(300);
    expect(await store.deleteByServiceId('big')).toBe(300);
    expect(await store.count()).toBe(0);
  });
});
