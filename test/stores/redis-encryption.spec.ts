import { randomBytes, randomUUID } from 'node:crypto';
import { inspect } from 'node:util';
import { jest } from '@jest/globals';
import type { Session } from '../../lib/index.js';
import { RedisKeyLayout } from '../../lib/stores/redis/redis-key-layout.js';
import { keyEncodings } from '../support/audit-recorder.js';
import { dumpKeys } from '../support/redis-keys.js';
import { RedisStoreFixture, testSession } from '../support/store-factories.js';

/*
 * What Redis holds of a session's secrets: keys sealed with AES-256-GCM and bound to their
 * session, ids only hashed or sealed, and keys decrypted only when read.
 */

const MIN = 60_000;
const redis = RedisStoreFixture.start();

afterEach(() => {
  jest.restoreAllMocks();
});

/** A logger that keeps what it is given. */
function recordingLogger(): {
  log: jest.Mock<(m: string) => void>;
  warn: jest.Mock<(m: string) => void>;
} {
  return { log: jest.fn(), warn: jest.fn() };
}

describe('RedisSessionStore encryption at rest', () => {
  it('leaves the key Buffer of a plain Session as it was', async () => {
    const store = redis.open();
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

  it('keeps no session key, in any encoding, and no session id anywhere in Redis', async () => {
    const store = redis.open({ keyPrefix: 'rest:' });
    const sessions: Session[] = [];
    for (let i = 0; i < 40; i++) {
      const s = testSession(`svc-${i % 4}`);
      sessions.push(s);
      await store.create(s);
    }
    await store.touch(sessions[0].id, Date.now(), MIN, undefined);
    await store.updateMetadata(sessions[1].id, { revoked: false }, Date.now());
    for (const s of sessions.slice(0, 10)) await store.claimNonce(s.id, randomUUID(), MIN, 0);
    await store.claimNonceAndTouch(sessions[2].id, 'n', MIN, Date.now(), MIN, undefined);
    const entries = await dumpKeys(redis.admin, 'rest:');
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
    const store = redis.open();
    const layout = new RedisKeyLayout(store['keys'].prefix);
    const s = testSession();
    await store.create(s);
    const sealed = await redis.admin.hget(layout.session(s.id).record, 'k');
    expect(sealed).toMatch(/^[A-Za-z0-9_-]{8}\.[A-Za-z0-9+/]+=*$/);
    expect(Buffer.from((sealed as string).split('.')[1], 'base64')).toHaveLength(12 + 32 + 16);
  });

  it('rotates keys: the first encrypts, every key decrypts', async () => {
    const oldKey = randomBytes(32);
    const newKey = randomBytes(32);
    const keyPrefix = redis.prefix('rotate');
    const before = redis.open({ keyPrefix, encryptionKeys: [oldKey] });
    const during = redis.open({ keyPrefix, encryptionKeys: [newKey, oldKey] });
    const after = redis.open({ keyPrefix, encryptionKeys: [newKey] });
    const logger = recordingLogger();
    for (const store of [before, during, after]) store.useLogger(logger);

    const early = testSession();
    await before.create(early);
    const late = testSession();
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
    expect(logger.warn).toHaveBeenCalledWith(expect.stringContaining('could not be decrypted'));
    for (const [message] of [...logger.warn.mock.calls, ...logger.log.mock.calls]) {
      for (const encoding of [...keyEncodings(oldKey), ...keyEncodings(newKey)]) {
        expect(String(message)).not.toContain(encoding);
      }
    }
  });

  it('binds each sealed key to its session id, and detects tampering', async () => {
    const store = redis.open();
    const admin = redis.admin;
    const layout = new RedisKeyLayout(store['keys'].prefix);
    store.useLogger(recordingLogger());
    const a = testSession();
    const b = testSession();
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
    const store = redis.open();
    const s = testSession();
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
    const sealed = (await redis.admin.hget(
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
    const store = redis.open();
    const deleted = testSession('gone');
    const expiring = testSession('gone', 1_000);
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
});
