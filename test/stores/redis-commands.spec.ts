import { randomBytes, randomUUID } from 'node:crypto';
import { jest } from '@jest/globals';
import { Cluster, Redis } from 'ioredis';
import {
  MeshSession,
  RequestVerifier,
  SessionManager,
  signRequest,
  type Session,
} from '../../lib/index.js';
import { RedisSessionStore } from '../../lib/redis.js';
import { nonceKeys } from '../support/redis-keys.js';
import { RedisCluster, realSleep } from '../support/redis-server.js';
import {
  RedisStoreFixture,
  testEncryptionKey as KEY,
  testSession,
} from '../support/store-factories.js';

/*
 * What the store sends to Redis: one EVALSHA per guarded request, scripts that share socket
 * writes under load, and the EVAL fallback when Redis has forgotten the scripts.
 */

const MIN = 60_000;
const redis = RedisStoreFixture.start();

afterEach(() => {
  jest.restoreAllMocks();
});

/** Every command Redis runs while `watch` is on, with where it came from (`lua` inside scripts). */
async function monitor(): Promise<{
  seen: { command: string; source: string }[];
  stop: () => Promise<void>;
}> {
  const watch = await redis.admin.monitor();
  const seen: { command: string; source: string }[] = [];
  watch.on('monitor', (_time: string, args: string[], source: string) => {
    seen.push({ command: args[0].toLowerCase(), source });
  });
  return {
    seen,
    stop: async () => {
      await realSleep(20); // the last MONITOR lines
      watch.disconnect();
    },
  };
}

describe('RedisSessionStore on a Cluster client with enableAutoPipelining', () => {
  it('runs concurrent scripts on every master, EVAL fallback included', async () => {
    const nodes = await RedisCluster.start(3);
    const client = new Cluster(nodes.startupNodes, {
      enableAutoPipelining: true,
      enableOfflineQueue: false,
      redisOptions: { maxRetriesPerRequest: 0, commandTimeout: 2_000 },
    });
    try {
      await new Promise((resolve) => client.once('ready', resolve));
      const store = new RedisSessionStore({ client, encryptionKeys: [KEY] });
      const sessions = Array.from({ length: 40 }, () => testSession('piped'));
      await Promise.all(sessions.map((s) => store.create(s)));
      const byId = (list: (Session | undefined)[]) => list.map((s) => s?.id).sort();
      const ids = sessions.map((s) => s.id).sort();
      // The partitions spread over the 3 masters: these sessions reach each of them.
      const sizes = await Promise.all(client.nodes('master').map((master) => master.dbsize()));
      expect(sizes).toHaveLength(3);
      expect(sizes.every((size) => size > 0)).toBe(true);
      const now = Date.now();
      expect(
        byId(await Promise.all(sessions.map((s) => store.touch(s.id, now, MIN, undefined)))),
      ).toEqual(ids);
      await Promise.all(nodes.nodes.map((node) => node.cli('script', 'flush')));
      const touched = await Promise.all(
        sessions.map((s) => store.touch(s.id, now, MIN, undefined)),
      );
      expect(byId(touched)).toEqual(ids);
      expect(touched.every((t) => t?.lastActivity === now)).toBe(true);
      expect(byId(await store.findByServiceId('piped', now))).toEqual(ids);
      expect(await store.deleteByServiceId('piped')).toBe(40);
      expect(await store.count()).toBe(0);
    } finally {
      await client.quit().catch(() => client.disconnect());
      await nodes.destroy();
    }
  });
});

describe('RedisSessionStore commands on Redis', () => {
  it('runs the guard check as exactly one EVALSHA', async () => {
    const store = redis.open();
    const admin = redis.admin;
    const now = Date.now();
    const bare = () => new MeshSession(randomUUID(), 'svc', randomBytes(32), now, now, now + MIN);
    // Two sessions without metadata, one with: only that one's script reads the whole record.
    const sessions = [bare(), bare(), testSession()];
    for (const s of sessions) await store.create(s);
    await store.touch(sessions[0].id, Date.now(), MIN, undefined); // scripts are loaded
    const watch = await monitor();
    await admin.config('RESETSTAT');
    for (let i = 0; i < 30; i++) {
      await store.touch(sessions[i % 3].id, Date.now(), MIN, 2 * MIN);
    }
    const stats = await admin.info('commandstats');
    await watch.stop();
    const seen = watch.seen;

    // What the store sent: one EVALSHA per check, nothing else.
    const sent = seen.filter(
      (line) => line.source !== 'lua' && !/^(info|config)/.test(line.command),
    );
    expect(sent.map((line) => line.command)).toEqual(Array(30).fill('evalsha'));
    // INFO commandstats agrees; it also lists what the script ran inside Redis, once per check.
    const calls = Object.fromEntries(
      [...stats.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)]
        .filter((m) => !/^(info|config)/.test(m[1]))
        .map((m) => [m[1], Number(m[2])]),
    );
    expect(calls).toEqual({ evalsha: 30, hmget: 30, hgetall: 10, hset: 30, pexpire: 30 });
    expect(seen.filter((line) => line.source === 'lua')).toHaveLength(3 * 30 + 10);
    const bareTouched = await store.touch(sessions[0].id, Date.now(), MIN, undefined);
    expect(bareTouched?.metadata).toBeUndefined();
    expect(bareTouched?.serviceId).toBe('svc');
  });

  it('coalesces concurrent scripts into few socket writes on a client it created', async () => {
    const store = redis.open();
    const sessions = Array.from({ length: 20 }, () => testSession());
    for (const s of sessions) await store.create(s);
    const stream = (store.client as Redis).stream;
    const write = jest.spyOn(stream, '_write');
    const writev = jest.spyOn(stream, '_writev');
    const now = Date.now();
    const touched = await Promise.all(sessions.map((s) => store.touch(s.id, now, MIN, undefined)));
    expect(touched.map((t) => t?.id)).toEqual(sessions.map((s) => s.id));
    expect(touched.every((t) => t?.lastActivity === now)).toBe(true);
    // The first script goes out at once; the 19 issued while it was out go out together.
    expect(write.mock.calls.length + writev.mock.calls.length).toBe(2);
    expect(writev.mock.calls[0][0]).toHaveLength(19);
    expect(stream.writableCorked).toBe(0);
    // Alone, a script goes out at once: nothing waits for a timer.
    write.mockClear();
    writev.mockClear();
    expect((await store.touch(sessions[0].id, now, MIN, undefined))?.id).toBe(sessions[0].id);
    expect(write).toHaveBeenCalledTimes(1);
    expect(writev).not.toHaveBeenCalled();
  });

  it('sends held scripts at the end of the turn, without waiting for a reply', async () => {
    const store = redis.open();
    const [first, second] = [testSession(), testSession()];
    await store.create(first);
    await store.create(second);
    const stream = (store.client as Redis).stream;
    const write = jest.spyOn(stream, '_write');
    const writev = jest.spyOn(stream, '_writev');
    // Redis holds every write command, scripts included, until UNPAUSE: no reply can come in.
    await redis.admin.client('PAUSE', 10_000, 'WRITE');
    const now = Date.now();
    let settled = 0;
    let touches: Promise<Session | undefined>[];
    try {
      touches = [first, second].map((s) =>
        store.touch(s.id, now, MIN, undefined).finally(() => settled++),
      );
      // The first went out at once; the second, written while the first was out, is held.
      expect(write).toHaveBeenCalledTimes(1);
      expect(stream.writableCorked).toBe(1);
      await new Promise((resolve) => setImmediate(resolve));
      expect(stream.writableCorked).toBe(0);
      expect(write.mock.calls.length + writev.mock.calls.length).toBe(2);
      expect(settled).toBe(0);
    } finally {
      // A failed expectation must not leave Redis paused for the tests after this one.
      await redis.admin.client('UNPAUSE');
    }
    const touched = await Promise.all(touches);
    expect(touched.map((t) => t?.lastActivity)).toEqual([now, now]);
  });

  it('sends held scripts with the last reply where timers are faked', async () => {
    const store = redis.open();
    const sessions = Array.from({ length: 5 }, () => testSession());
    for (const s of sessions) await store.create(s);
    const stream = (store.client as Redis).stream;
    jest.useFakeTimers({ doNotFake: ['nextTick', 'queueMicrotask'] });
    try {
      const now = Date.now();
      const touches = sessions.map((s) => store.touch(s.id, now, MIN, undefined));
      expect(stream.writableCorked).toBe(1);
      // No timer runs: the held scripts go out when the first one's reply comes in.
      const touched = await Promise.all(touches);
      expect(touched.map((t) => t?.id)).toEqual(sessions.map((s) => s.id));
      expect(stream.writableCorked).toBe(0);
    } finally {
      jest.useRealTimers();
    }
  });

  it('falls back to EVAL for every held script when Redis forgot the scripts', async () => {
    const store = redis.open();
    const sessions = Array.from({ length: 10 }, () => testSession());
    for (const s of sessions) await store.create(s);
    await redis.admin.script('FLUSH');
    const now = Date.now();
    const touched = await Promise.all(sessions.map((s) => store.touch(s.id, now, MIN, undefined)));
    expect(touched.map((t) => t?.id)).toEqual(sessions.map((s) => s.id));
    expect((store.client as Redis).stream.writableCorked).toBe(0);
    // Loaded again by the EVALs: the next round is EVALSHA only.
    await redis.admin.config('RESETSTAT');
    await Promise.all(sessions.map((s) => store.touch(s.id, now, MIN, undefined)));
    const stats = await redis.admin.info('commandstats');
    expect(stats).toMatch(/^cmdstat_evalsha:calls=10,/m);
    expect(stats).not.toMatch(/^cmdstat_eval:/m);
  });

  it('leaves the writes of a given client as its options make them', async () => {
    const client = new Redis(redis.server.port, '127.0.0.1', {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
    });
    await new Promise((resolve) => client.once('ready', resolve));
    const store = new RedisSessionStore({ client, encryptionKeys: [KEY], keyPrefix: 'given2:' });
    const sessions = [testSession(), testSession(), testSession()];
    for (const s of sessions) await store.create(s);
    const cork = jest.spyOn(client.stream, 'cork');
    const now = Date.now();
    const touched = await Promise.all(sessions.map((s) => store.touch(s.id, now, MIN, undefined)));
    expect(touched.map((t) => t?.id)).toEqual(sessions.map((s) => s.id));
    expect(cork).not.toHaveBeenCalled();
    await store.deleteByServiceId('svc');
    client.disconnect();
  });

  it('leaves batching to ioredis when the options turn on enableAutoPipelining', async () => {
    const store = redis.open({
      url: undefined,
      redisOptions: { host: '127.0.0.1', port: redis.server.port, enableAutoPipelining: true },
    });
    const sessions = Array.from({ length: 10 }, () => testSession());
    for (const s of sessions) await store.create(s);
    const cork = jest.spyOn((store.client as Redis).stream, 'cork');
    const now = Date.now();
    for (let round = 0; round < 3; round++) {
      const touched = await Promise.all(
        sessions.map((s) => store.touch(s.id, now + round, MIN, undefined)),
      );
      expect(touched.map((t) => t?.lastActivity)).toEqual(Array(10).fill(now + round));
    }
    expect(cork).not.toHaveBeenCalled();
  });

  it('signature mode: a forged request is one EVALSHA that writes nothing; a verified one two', async () => {
    const store = redis.open({ keyPrefix: 'signed:' });
    const admin = redis.admin;
    const manager = new SessionManager(store);
    const verifier = new RequestVerifier(manager);
    const key = randomBytes(32);
    const s = await manager.createSession('svc', key);
    const url = 'http://greeter/x';
    const target = { method: 'GET', targetUri: url, rawBody: undefined, hasBody: false };
    // Scripts loaded, so that EVALSHA never falls back to EVAL below.
    await verifier.verify({
      ...target,
      headers: { ...signRequest({ method: 'GET', url, sessionId: s.id, sessionKey: key }) },
    });
    await admin.del(...(await nonceKeys(admin, 'signed:')));
    const watch = await monitor();
    const seen = watch.seen;
    for (let i = 0; i < 20; i++) {
      const forged = signRequest({
        method: 'GET',
        url,
        sessionId: s.id,
        sessionKey: randomBytes(32),
      });
      await expect(verifier.verify({ ...target, headers: { ...forged } })).rejects.toMatchObject({
        reason: 'signature_invalid',
      });
    }
    await realSleep(20);
    const afterForged = seen.length;
    // Anyone who knows the session id can send these: they left no nonce behind.
    expect(await nonceKeys(admin, 'signed:')).toEqual([]);

    const good = { ...signRequest({ method: 'GET', url, sessionId: s.id, sessionKey: key }) };
    await expect(verifier.verify({ ...target, headers: good })).resolves.toMatchObject({
      id: s.id,
    });
    await expect(verifier.verify({ ...target, headers: good })).rejects.toMatchObject({
      reason: 'signature_replayed',
    });
    await watch.stop();
    // What the store sent (the test's own SCANs left out).
    const sent = (lines: typeof seen) =>
      lines
        .filter((line) => line.source !== 'lua' && line.command !== 'scan')
        .map((line) => line.command);
    const lua = (lines: typeof seen) =>
      lines.filter((line) => line.source === 'lua').map((line) => line.command);
    expect(sent(seen.slice(0, afterForged))).toEqual(Array(20).fill('evalsha'));
    expect(lua(seen.slice(0, afterForged))).toEqual(Array(20).fill('hgetall'));
    // Verified, then replayed: a read, then the claim and slide, in one script each.
    expect(sent(seen.slice(afterForged))).toEqual(Array(4).fill('evalsha'));
    expect(lua(seen.slice(afterForged))).toEqual([
      'hgetall',
      'set',
      'hmget',
      'hset',
      'pexpire',
      'hgetall',
      'set',
    ]);
    expect(await nonceKeys(admin, 'signed:')).toHaveLength(1);
  });
});

describe('signature mode with the session cache the module sets up on Redis', () => {
  it('takes one EVALSHA per verified request after the first, and still refuses an ended session', async () => {
    const store = redis.open({ keyPrefix: 'cached:' });
    const manager = new SessionManager(store);
    const verifier = new RequestVerifier(manager, { sessionCache: 100 });
    const key = randomBytes(32);
    const s = await manager.createSession('svc', key);
    const url = 'http://greeter/x';
    const request = () => ({
      method: 'GET',
      targetUri: url,
      rawBody: undefined,
      hasBody: false,
      headers: { ...signRequest({ method: 'GET', url, sessionId: s.id, sessionKey: key }) },
    });
    await verifier.verify(request()); // read, claim: the session is now cached
    const watch = await monitor();
    for (let i = 0; i < 10; i++) {
      await expect(verifier.verify(request())).resolves.toMatchObject({ id: s.id });
    }
    await realSleep(20);
    const verified = watch.seen.length;
    await manager.invalidateSession(s.id);
    await expect(verifier.verify(request())).rejects.toMatchObject({ reason: 'not_found' });
    await watch.stop();
    const sent = watch.seen
      .slice(0, verified)
      .filter((line) => line.source !== 'lua')
      .map((line) => line.command);
    // Each request: the claim and slide, in one script; no read.
    expect(sent).toEqual(Array(10).fill('evalsha'));
    expect(
      watch.seen
        .slice(0, verified)
        .filter((line) => line.source === 'lua' && line.command === 'hgetall'),
    ).toEqual([]);
  });
});
