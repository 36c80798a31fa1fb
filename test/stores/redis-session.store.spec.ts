import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { inspect } from 'node:util';
import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Cluster, Redis } from 'ioredis';
import {
  MeshSession,
  MeshSessionModule,
  RequestVerifier,
  SessionManager,
  SessionStore,
  signRequest,
  type Session,
} from '../../lib/index.js';
import { RedisSessionStore } from '../../lib/redis.js';
import { loadIoredis } from '../../lib/stores/redis/redis-connection.js';
import {
  REDIS_PARTITION_TAGS,
  REDIS_PARTITIONS,
  RedisKeyLayout,
} from '../../lib/stores/redis/redis-key-layout.js';
import { keyEncodings } from '../support/audit-recorder.js';
import { scanKeys } from '../support/redis-keys.js';
import { RedisCluster, RedisServer, realSleep } from '../support/redis-server.js';

const MIN = 60_000;
const KEY = randomBytes(32);

let server: RedisServer;
let admin: Redis;
let prefixes = 0;
const opened: RedisSessionStore[] = [];

beforeAll(async () => {
  server = await RedisServer.start();
  admin = new Redis(server.port, '127.0.0.1');
});

afterAll(async () => {
  await Promise.all(opened.map((store) => store.close()));
  admin.disconnect();
  await server.destroy();
});

afterEach(() => {
  jest.restoreAllMocks();
});

/** A store on the shared server; each call gets a fresh prefix unless one is given. */
function openStore(
  options: Partial<ConstructorParameters<typeof RedisSessionStore>[0]> = {},
): RedisSessionStore {
  const store = new RedisSessionStore({
    url: server.url,
    encryptionKeys: [KEY],
    keyPrefix: `spec${++prefixes}:`,
    ...options,
  });
  opened.push(store);
  return store;
}

function session(serviceId = 'svc', expiresIn = MIN, id: string = randomUUID()): MeshSession {
  const now = Date.now();
  return new MeshSession(id, serviceId, randomBytes(32), now, now, now + expiresIn, {
    note: 'hello',
  });
}

/** The claimed-nonce keys under a prefix, found with SCAN. */
function nonceKeys(prefix: string): Promise<string[]> {
  return scanKeys(admin, `${prefix}{*}:n:*`);
}

/** Every key under a prefix, found with SCAN (as the store's own code would), with its value. */
async function dump(prefix: string): Promise<{ key: string; parts: Buffer[] }[]> {
  const out: { key: string; parts: Buffer[] }[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await admin.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      const type = await admin.type(key);
      let parts: Buffer[];
      if (type === 'hash') {
        parts = Object.entries(await admin.hgetallBuffer(key)).flatMap(([f, v]) => [
          Buffer.from(f),
          v,
        ]);
      } else if (type === 'zset') {
        parts = await admin.zrangeBuffer(key, 0, -1, 'WITHSCORES');
      } else if (type === 'set') {
        parts = await admin.smembersBuffer(key);
      } else {
        parts = [(await admin.getBuffer(key)) ?? Buffer.alloc(0)];
      }
      out.push({ key, parts });
    }
  } while (cursor !== '0');
  return out;
}

/** An id whose keys fall in partition `p`. */
function idInPartition(layout: RedisKeyLayout, p: number): string {
  for (;;) {
    const id = randomUUID();
    if (layout.session(id).base === layout.partitions[p]) return id;
  }
}

describe('RedisSessionStore options', () => {
  const url = 'redis://127.0.0.1:1';
  it.each([
    [
      'no location',
      { encryptionKeys: [KEY] },
      /exactly one of .*"client", "url" or "redisOptions"; got none/,
    ],
    [
      'two locations',
      { url, redisOptions: {}, encryptionKeys: [KEY] },
      /got "url" and "redisOptions"/,
    ],
    ['a non-Redis url', { url: 'http://localhost', encryptionKeys: [KEY] }, /option "url"/],
    ['a non-string url', { url: 42, encryptionKeys: [KEY] }, /option "url"/],
    ['a client that is not ioredis', { client: {}, encryptionKeys: [KEY] }, /option "client"/],
    [
      'redisOptions that are not an object',
      { redisOptions: 'x', encryptionKeys: [KEY] },
      /option "redisOptions"/,
    ],
    ['no encryptionKeys', { url }, /option "encryptionKeys"/],
    ['empty encryptionKeys', { url, encryptionKeys: [] }, /option "encryptionKeys"/],
    [
      'a 31-byte key',
      { url, encryptionKeys: [KEY, randomBytes(31)] },
      /option "encryptionKeys\[1\]"/,
    ],
    ['a string key', { url, encryptionKeys: ['k'.repeat(32)] }, /option "encryptionKeys\[0\]"/],
    ['a non-string keyPrefix', { url, encryptionKeys: [KEY], keyPrefix: 5 }, /option "keyPrefix"/],
    [
      'a zero commandTimeout',
      { url, encryptionKeys: [KEY], commandTimeout: 0 },
      /option "commandTimeout"/,
    ],
    [
      'a fractional commandTimeout',
      { url, encryptionKeys: [KEY], commandTimeout: 1.5 },
      /option "commandTimeout"/,
    ],
  ])('rejects %s, naming the option', (_label, options, message) => {
    expect(() => new RedisSessionStore(options as never)).toThrow(message);
  });

  it('never echoes a rejected key', () => {
    const bad = randomBytes(33);
    const error = (() => {
      try {
        new RedisSessionStore({ url, encryptionKeys: [bad] });
      } catch (e) {
        return e as Error;
      }
    })();
    for (const encoding of keyEncodings(bad)) expect(error?.message).not.toContain(encoding);
  });

  it('rejects the same encryption key given twice', () => {
    expect(() => new RedisSessionStore({ url, encryptionKeys: [KEY, Buffer.from(KEY)] })).toThrow(
      /same key/,
    );
  });

  it('says what to install when ioredis is missing', () => {
    const missing = Object.assign(new Error("Cannot find module 'ioredis'"), {
      code: 'MODULE_NOT_FOUND',
    });
    expect(() =>
      loadIoredis(() => {
        throw missing;
      }),
    ).toThrow('npm install ioredis');
    expect(loadIoredis()).toBe(Redis);
  });
});

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
      const sessions = Array.from({ length: 40 }, () => session('piped'));
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

describe('RedisSessionStore on Redis', () => {
  it('runs the guard check as exactly one EVALSHA', async () => {
    const store = openStore();
    const now = Date.now();
    const bare = () => new MeshSession(randomUUID(), 'svc', randomBytes(32), now, now, now + MIN);
    // Two sessions without metadata, one with: only that one's script reads the whole record.
    const sessions = [bare(), bare(), session()];
    for (const s of sessions) await store.create(s);
    await store.touch(sessions[0].id, Date.now(), MIN, undefined); // scripts are loaded
    const monitor = await admin.monitor();
    const seen: { command: string; source: string }[] = [];
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      seen.push({ command: args[0].toLowerCase(), source });
    });
    await admin.config('RESETSTAT');
    for (let i = 0; i < 30; i++) {
      await store.touch(sessions[i % 3].id, Date.now(), MIN, 2 * MIN);
    }
    const stats = await admin.info('commandstats');
    await realSleep(20); // the last MONITOR lines
    monitor.disconnect();

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
    const store = openStore();
    const sessions = Array.from({ length: 20 }, () => session());
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

  it('falls back to EVAL for every held script when Redis forgot the scripts', async () => {
    const store = openStore();
    const sessions = Array.from({ length: 10 }, () => session());
    for (const s of sessions) await store.create(s);
    await admin.script('FLUSH');
    const now = Date.now();
    const touched = await Promise.all(sessions.map((s) => store.touch(s.id, now, MIN, undefined)));
    expect(touched.map((t) => t?.id)).toEqual(sessions.map((s) => s.id));
    expect((store.client as Redis).stream.writableCorked).toBe(0);
    // Loaded again by the EVALs: the next round is EVALSHA only.
    await admin.config('RESETSTAT');
    await Promise.all(sessions.map((s) => store.touch(s.id, now, MIN, undefined)));
    const stats = await admin.info('commandstats');
    expect(stats).toMatch(/^cmdstat_evalsha:calls=10,/m);
    expect(stats).not.toMatch(/^cmdstat_eval:/m);
  });

  it('leaves the writes of a given client as its options make them', async () => {
    const client = new Redis(server.port, '127.0.0.1', {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
    });
    await new Promise((resolve) => client.once('ready', resolve));
    const store = new RedisSessionStore({ client, encryptionKeys: [KEY], keyPrefix: 'given2:' });
    const sessions = [session(), session(), session()];
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
    const store = openStore({
      url: undefined,
      redisOptions: { host: '127.0.0.1', port: server.port, enableAutoPipelining: true },
    });
    const sessions = Array.from({ length: 10 }, () => session());
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

  it('leaves the key Buffer of a plain Session as it was', async () => {
    const store = openStore();
    const key = randomBytes(32);
    const original = Buffer.from(key);
    const now = Date.now();
    const plain = {
      id: randomUUID(),
      serviceId: 'svc',
      sessionKey: key,
      createdAt: now,
      lastActivity: now,
      expiresAt: now + MIN,
    };
    await store.create(plain);
    expect(key.equals(original)).toBe(true);
    expect((await store.get(plain.id, now))?.sessionKey.equals(original)).toBe(true);
  });

  it('signature mode: a forged request is one EVALSHA that writes nothing; a verified one two', async () => {
    const store = openStore({ keyPrefix: 'signed:' });
    const manager = new SessionManager({ store, cleanupInterval: false });
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
    await admin.del(...(await nonceKeys('signed:')));
    const monitor = await admin.monitor();
    const seen: { command: string; source: string }[] = [];
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      seen.push({ command: args[0].toLowerCase(), source });
    });
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
    expect(await nonceKeys('signed:')).toEqual([]);

    const good = { ...signRequest({ method: 'GET', url, sessionId: s.id, sessionKey: key }) };
    await expect(verifier.verify({ ...target, headers: good })).resolves.toMatchObject({
      id: s.id,
    });
    await expect(verifier.verify({ ...target, headers: good })).rejects.toMatchObject({
      reason: 'signature_replayed',
    });
    await realSleep(20);
    monitor.disconnect();
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
    expect(await nonceKeys('signed:')).toHaveLength(1);
  });

  it('gives every session key a TTL that follows expiresAt, and Redis drops it itself', async () => {
    const store = openStore();
    const layout = new RedisKeyLayout(store['keys'].prefix);
    const s = session('svc', 150);
    await store.create(s);
    const { record } = layout.session(s.id);
    expect(await admin.pttl(record)).toBeGreaterThan(50);
    expect(await admin.pttl(record)).toBeLessThanOrEqual(150);
    await store.touch(s.id, Date.now(), 10 * MIN, undefined);
    const slid = await admin.pttl(record);
    expect(slid).toBeGreaterThan(10 * MIN - 1_000);
    expect(slid).toBeLessThanOrEqual(10 * MIN);

    const short = session('svc', 80);
    await store.create(short);
    const shortKey = layout.session(short.id).record;
    const deadline = Date.now() + 2_000;
    while ((await admin.exists(shortKey)) === 1 && Date.now() < deadline) await realSleep(20);
    expect(await admin.exists(shortKey)).toBe(0);
    // The index entry outlives the record until cleanup prunes it.
    expect(await store.count()).toBe(2);
    expect(await store.deleteExpired(Date.now())).toBe(1);
    expect(await store.count()).toBe(1);
    expect(
      await admin.sismember(
        layout.serviceIndex(layout.session(short.id).base, layout.serviceHash('svc')),
        layout.session(short.id).hid,
      ),
    ).toBe(0);
  });

  it('writes the documented key layout, with hashed ids only', async () => {
    const store = openStore({ keyPrefix: 'layout:' });
    const s = session('billing');
    await store.create(s);
    await store.claimNonce(s.id, 'nonce-1', MIN, Date.now());
    const limiter = store.createRateLimiter({ maxRequests: 5, windowMs: MIN });
    await limiter.checkLimit('billing');
    const keys = (await dump('layout:')).map((entry) => entry.key).sort();
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

  it('keeps no session key, in any encoding, and no session id anywhere in Redis', async () => {
    const store = openStore({ keyPrefix: 'rest:' });
    const sessions: Session[] = [];
    for (let i = 0; i < 40; i++) {
      const s = session(`svc-${i % 4}`);
      sessions.push(s);
      await store.create(s);
    }
    await store.touch(sessions[0].id, Date.now(), MIN, undefined);
    await store.updateMetadata(sessions[1].id, { revoked: false }, Date.now());
    for (const s of sessions.slice(0, 10)) await store.claimNonce(s.id, randomUUID(), MIN, 0);
    await store.claimNonceAndTouch(sessions[2].id, 'n', MIN, Date.now(), MIN, undefined);
    const entries = await dump('rest:');
    expect(entries.length).toBeGreaterThan(40);
    const haystacks = entries.flatMap((entry) => [Buffer.from(entry.key), ...entry.parts]);
    const all = Buffer.concat(haystacks);
    const text = all.toString('latin1');
    for (const s of sessions) {
      expect(all.includes(s.sessionKey)).toBe(false);
      for (const encoding of keyEncodings(s.sessionKey)) expect(text).not.toContain(encoding);
      expect(text).not.toContain(s.id);
      expect(text).not.toContain(s.id.replaceAll('-', ''));
    }
  });

  it('seals keys with AES-256-GCM: key id, 12-byte IV, ciphertext, 16-byte tag', async () => {
    const store = openStore();
    const layout = new RedisKeyLayout(store['keys'].prefix);
    const s = session();
    await store.create(s);
    const sealed = await admin.hget(layout.session(s.id).record, 'k');
    expect(sealed).toMatch(/^[A-Za-z0-9_-]{8}\.[A-Za-z0-9+/]+=*$/);
    expect(Buffer.from((sealed as string).split('.')[1], 'base64')).toHaveLength(12 + 32 + 16);
  });

  it('rotates keys: the first encrypts, every key decrypts', async () => {
    const oldKey = randomBytes(32);
    const newKey = randomBytes(32);
    const keyPrefix = `rotate${++prefixes}:`;
    const before = openStore({ keyPrefix, encryptionKeys: [oldKey] });
    const during = openStore({ keyPrefix, encryptionKeys: [newKey, oldKey] });
    const after = openStore({ keyPrefix, encryptionKeys: [newKey] });
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);

    const early = session();
    await before.create(early);
    const late = session();
    await during.create(late);

    const now = Date.now();
    expect((await during.get(early.id, now))?.sessionKey.equals(early.sessionKey)).toBe(true);
    expect((await during.get(late.id, now))?.sessionKey.equals(late.sessionKey)).toBe(true);
    expect((await after.get(late.id, now))?.sessionKey.equals(late.sessionKey)).toBe(true);
    // A key that was rotated out no longer opens its sessions: they read as absent, and say so.
    expect(await after.get(early.id, now)).toBeUndefined();
    expect(await before.get(late.id, now)).toBeUndefined();
    // The guard's check decrypts nothing, and still refuses a key that was rotated out.
    expect(await after.touch(early.id, now, MIN, undefined)).toBeUndefined();
    expect(
      (await during.touch(early.id, now, MIN, undefined))?.sessionKey.equals(early.sessionKey),
    ).toBe(true);
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('could not be decrypted'));
    for (const [message] of warn.mock.calls) {
      for (const encoding of [...keyEncodings(oldKey), ...keyEncodings(newKey)]) {
        expect(String(message)).not.toContain(encoding);
      }
    }
  });

  it('binds each sealed key to its session id, and detects tampering', async () => {
    const store = openStore();
    const layout = new RedisKeyLayout(store['keys'].prefix);
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const a = session();
    const b = session();
    await store.create(a);
    await store.create(b);
    const recordA = layout.session(a.id).record;
    const recordB = layout.session(b.id).record;
    // B's sealed key moved into A's record fails: the session id is the associated data.
    await admin.hset(recordA, 'k', (await admin.hget(recordB, 'k')) as string);
    expect(await store.get(a.id, Date.now())).toBeUndefined();
    const sealed = (await admin.hget(recordB, 'k')) as string;
    const flipped = Buffer.from(sealed.split('.')[1], 'base64');
    flipped[20] ^= 1;
    await admin.hset(recordB, 'k', `${sealed.split('.')[0]}.${flipped.toString('base64')}`);
    expect(await store.get(b.id, Date.now())).toBeUndefined();
    // The check decrypts nothing: the altered key is refused when it is read, never handed out.
    const slid = (await store.touch(b.id, Date.now(), MIN, undefined)) as Session;
    expect(slid.id).toBe(b.id);
    expect(() => slid.sessionKey).toThrow('the stored value failed authentication');
    const claimed = await store.claimNonceAndTouch(a.id, 'n1', MIN, Date.now(), MIN, undefined);
    expect(() => claimed.session?.sessionKey).toThrow('the stored value failed authentication');
  });

  it('decrypts the key of a slid session only when it is read, afresh each time', async () => {
    const store = openStore();
    const s = session();
    const key = Buffer.from(s.sessionKey);
    await store.create(s);
    const decrypt = jest.spyOn(store['cipher'], 'decrypt');
    const now = Date.now();
    const touched = (await store.touch(s.id, now, MIN, 2 * MIN)) as Session;
    const claimed = (await store.claimNonceAndTouch(s.id, 'n1', MIN, now, MIN, undefined))
      .session as Session;
    expect(decrypt).not.toHaveBeenCalled();
    expect(touched).toMatchObject({ id: s.id, serviceId: 'svc', lastActivity: now });
    expect(touched.createdAt).toBe(s.createdAt);
    expect(touched.expiresAt).toBe(now + MIN);
    expect(touched.metadata).toEqual({ note: 'hello' });
    // Nothing of the key, sealed or plain, shows in any form of the session.
    const sealed = (await admin.hget(
      new RedisKeyLayout(store['keys'].prefix).session(s.id).record,
      'k',
    )) as string;
    for (const text of [
      JSON.stringify(touched),
      inspect(touched, { showHidden: true }),
      String(Object.keys(touched)),
    ]) {
      expect(text).not.toContain('sessionKey');
      expect(text).not.toContain(sealed.split('.')[1]);
      for (const encoding of keyEncodings(key)) expect(text).not.toContain(encoding);
    }

    const first = touched.sessionKey;
    expect(decrypt).toHaveBeenCalledTimes(1);
    expect(first.equals(key)).toBe(true);
    expect(first.buffer.byteLength).toBe(32);
    // Every read is a fresh copy: wiping one changes nothing stored or read later.
    first.fill(0);
    const second = touched.sessionKey;
    expect(second).not.toBe(first);
    expect(second.equals(key)).toBe(true);
    expect(claimed.sessionKey.equals(key)).toBe(true);
    expect(decrypt).toHaveBeenCalledTimes(3);
  });

  it('hands back a removed session without its key, as the memory store does', async () => {
    const store = openStore();
    const deleted = session('gone');
    const expiring = session('gone', 1_000);
    await store.create(deleted);
    await store.create(expiring);
    const decrypt = jest.spyOn(store['cipher'], 'decrypt');
    const removed = (await store.delete(deleted.id)) as Session;
    expect(removed).toMatchObject({
      id: deleted.id,
      serviceId: 'gone',
      metadata: { note: 'hello' },
    });
    expect(removed.expiresAt).toBe(deleted.expiresAt);
    expect(() => removed.sessionKey).toThrow('no longer available');
    const now = expiring.expiresAt + 1;
    const expired = (await store.touch(expiring.id, now, MIN, undefined)) as Session;
    expect(expired.expiresAt).toBeLessThanOrEqual(now);
    expect(expired.lastActivity).toBe(expiring.lastActivity);
    expect(expired.metadata).toEqual({ note: 'hello' });
    expect(() => expired.sessionKey).toThrow('no longer available');
    expect(decrypt).not.toHaveBeenCalled();
  });

  it('works through a client with its own ioredis keyPrefix', async () => {
    const client = new Redis(server.port, '127.0.0.1', {
      keyPrefix: 'app:',
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
    });
    await new Promise((resolve) => client.once('ready', resolve));
    const store = new RedisSessionStore({ client, encryptionKeys: [KEY], keyPrefix: 'mesh:' });
    const a = session('pfx', 1_000);
    const b = session('pfx');
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
    expect((await dump('mesh:')).length).toBe(0);
    await store.close();
    client.disconnect();
  });

  it('handles more than one batch of a service in one partition', async () => {
    const store = openStore();
    const layout = new RedisKeyLayout(store['keys'].prefix);
    const now = Date.now();
    const ids: string[] = [];
    for (let i = 0; i < 600; i++) {
      const id = idInPartition(layout, 5);
      ids.push(id);
      await store.create(session('big', i < 300 ? 1_000 : MIN, id));
    }
    expect(await store.findByServiceId('big', now)).toHaveLength(600);
    expect(await store.findByServiceId('big', now + 2_000)).toHaveLength(300);
    expect(await store.deleteExpired(now + 2_000)).toBe(300);
    expect(await store.deleteByServiceId('big')).toBe(300);
    expect(await store.count()).toBe(0);
  });

  it('shares sessions and nonces between instances: a replay elsewhere is refused', async () => {
    const keyPrefix = `shared${++prefixes}:`;
    const a = openStore({ keyPrefix });
    const b = openStore({ keyPrefix });
    const s = session();
    await a.create(s);
    const now = Date.now();
    expect((await b.touch(s.id, now, MIN, undefined))?.sessionKey.equals(s.sessionKey)).toBe(true);
    expect(await a.claimNonce(s.id, 'nonce', MIN, now)).toBe(true);
    expect(await b.claimNonce(s.id, 'nonce', MIN, now)).toBe(false);
    expect((await b.claimNonceAndTouch(s.id, 'nonce', MIN, now, MIN, undefined)).nonceFresh).toBe(
      false,
    );
    expect((await b.claimNonceAndTouch(s.id, 'other', MIN, now, MIN, undefined)).nonceFresh).toBe(
      true,
    );
    expect((await a.claimNonceAndTouch(s.id, 'other', MIN, now, MIN, undefined)).nonceFresh).toBe(
      false,
    );
    expect(await b.delete(s.id)).toBeDefined();
    expect(await a.touch(s.id, now, MIN, undefined)).toBeUndefined();
  });

  it('counts right when several instances clean up at the same time', async () => {
    const keyPrefix = `cleanup${++prefixes}:`;
    // Thousands of calls in flight at once: allow for the queue, not for a slow Redis.
    const instances = [1, 2, 3].map(() => openStore({ keyPrefix, commandTimeout: 10_000 }));
    const now = Date.now();
    const creates: Promise<void>[] = [];
    for (let i = 0; i < 3_000; i++) {
      creates.push(instances[i % 3].create(session(`svc-${i % 7}`, i < 2_400 ? 1_000 : MIN)));
    }
    await Promise.all(creates);
    const removed = await Promise.all([
      ...instances.map((store) => store.deleteExpired(now + 2_000)),
      instances[0].deleteExpired(now + 2_000),
    ]);
    expect(removed.reduce((sum, n) => sum + n, 0)).toBe(2_400);
    expect(await instances[1].count()).toBe(600);
    let inServiceSets = 0;
    for (let i = 0; i < 7; i++) {
      inServiceSets += (await instances[2].findByServiceId(`svc-${i}`, now)).length;
    }
    expect(inServiceSets).toBe(600);
  });

  it('never brings back a session that a racing invalidation or expiry removed', async () => {
    const keyPrefix = `race${++prefixes}:`;
    // Thousands of calls in flight at once: allow for the queue, not for a slow Redis.
    const a = openStore({ keyPrefix, commandTimeout: 10_000 });
    const b = openStore({ keyPrefix, commandTimeout: 10_000 });
    const layout = new RedisKeyLayout(keyPrefix);
    const T = Date.now();
    const sessions = Array.from({ length: 400 }, (_, i) => session(`svc-${i % 5}`, MIN));
    await Promise.all(sessions.map((s, i) => (i % 2 ? a : b).create(s)));

    const removed = new Set<string>();
    const ops: (() => Promise<unknown>)[] = [];
    sessions.forEach((s, i) => {
      for (let t = 0; t < 9; t++) {
        const store = t % 2 ? a : b;
        ops.push(() => store.touch(s.id, T + t * 10, MIN, 10 * MIN));
      }
      if (i % 3 === 0) {
        removed.add(s.id);
        ops.push(() => (i % 2 ? b : a).delete(s.id));
      } else if (i % 3 === 1) {
        // A touch from an instance whose clock is past the expiry removes the session.
        removed.add(s.id);
        ops.push(() => a.touch(s.id, T + 5 * MIN, MIN, undefined));
      }
    });
    // Shuffled, and all in flight at once.
    for (let i = ops.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [ops[i], ops[j]] = [ops[j], ops[i]];
    }
    expect(ops.length).toBeGreaterThan(3_000);
    await Promise.all(ops.map((op) => op()));

    for (const s of sessions) {
      const { record, index, hid, base } = layout.session(s.id);
      const member = hid + layout.serviceHash(s.serviceId);
      const serviceSet = layout.serviceIndex(base, layout.serviceHash(s.serviceId));
      if (removed.has(s.id)) {
        expect(await a.get(s.id, T)).toBeUndefined();
        expect(await admin.exists(record)).toBe(0);
        expect(await admin.zscore(index, member)).toBeNull();
        expect(await admin.sismember(serviceSet, hid)).toBe(0);
      } else {
        const fields = await admin.hgetall(record);
        expect(Object.keys(fields).sort()).toEqual(
          ['c', 'e', 'i', 'k', 'l', 'm', 'm.note', 'v', 'w'].sort(),
        );
        // Filed under its expiry at creation: touches do not move it (cleanup re-files it when
        // due). Callers' clocks differ here by up to 80 ms, so the real expiry may be that early.
        expect(Number(await admin.zscore(index, member))).toBeLessThanOrEqual(
          Number(fields.e) + 1_000,
        );
        expect(await admin.sismember(serviceSet, hid)).toBe(1);
      }
    }
    expect(await a.count()).toBe(sessions.length - removed.size);
    expect(await b.touch(sessions[0].id, T, MIN, undefined)).toBeUndefined();
  });

  it('counts the rate limit in Redis from the first request of a store just created', async () => {
    const keyPrefix = `limit${++prefixes}:`;
    // Nothing awaited before: the clients are still connecting.
    const limiters = [openStore({ keyPrefix }), openStore({ keyPrefix })].map((store) =>
      store.createRateLimiter({ maxRequests: 3, windowMs: MIN }),
    );
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await limiters[i % 2].checkLimit('svc'));
    expect(results.map((r) => r.allowed)).toEqual([true, true, true, false]);
    expect(await admin.get(`${keyPrefix}rl:svc`)).toBe('4');
  });

  it('closes a client it created, and never one it was given', async () => {
    const owned = openStore();
    await owned.count();
    await owned.close();
    expect(owned.client.status).toBe('end');
    await expect(owned.count()).rejects.toThrow(/closed/);

    const client = new Redis(server.port, '127.0.0.1', { enableOfflineQueue: false });
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
    const given = new Redis(server.port, '127.0.0.1', { enableOfflineQueue: false });
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
    const owning = await start(() => openStore());
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
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const client = new Redis(server.port, '127.0.0.1', { lazyConnect: true });
    const store = new RedisSessionStore({ client, encryptionKeys: [KEY] });
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('enableOfflineQueue'));
    // A lazy client is connected on first use.
    expect(await store.count()).toBeGreaterThanOrEqual(0);
    client.disconnect();
  });
});

describe('RedisSessionStore when Redis fails', () => {
  let faulty: RedisServer;

  beforeAll(async () => {
    faulty = await RedisServer.start({ persistent: true });
  });

  afterAll(async () => {
    await faulty.destroy();
  });

  beforeEach(() => {
    // Connection-loss lines are expected here.
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
  });

  it('fails within commandTimeout when nothing listens, with a clear error', async () => {
    const { freePort } = await import('../support/redis-server.js');
    const store = openStore({ url: `redis://127.0.0.1:${await freePort()}` });
    const started = Date.now();
    const error = (await store.create(session()).catch((e: unknown) => e)) as Error;
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(error.message).toMatch(/^Redis session store: create failed: /);
    await store.close();
  });

  it('fails within commandTimeout when Redis hangs, then works again', async () => {
    const store = openStore({ url: faulty.url, commandTimeout: 300 });
    const s = session();
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
    const store = openStore({ url: faulty.url });
    const kept = session();
    await store.create(kept);
    const limiter = store.createRateLimiter({ maxRequests: 100, windowMs: MIN });
    await faulty.kill();

    const started = Date.now();
    await expect(store.touch(kept.id, Date.now(), MIN, undefined)).rejects.toThrow(/touch failed/);
    await expect(store.create(session())).rejects.toThrow(/create failed/);
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
