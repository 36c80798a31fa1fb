import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { OptionMessages } from '../../lib/core/option.messages.js';
import { RedisSessionStore } from '../../lib/redis.js';
import { loadIoredis } from '../../lib/stores/redis/redis-client.js';
import { keyEncodings } from '../support/audit-recorder.js';

const KEY = randomBytes(32);

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

describe('RedisSessionStore unknown options', () => {
  const url = 'redis://127.0.0.1:1';

  it('names an unknown option and the known one it resembles', () => {
    expect(() => new RedisSessionStore({ url, encryptionKey: [KEY] } as never)).toThrow(
      new Error(
        'RedisSessionStore: unknown option "encryptionKey"; did you mean "encryptionKeys"?',
      ),
    );
    expect(
      () => new RedisSessionStore({ url, encryptionKeys: [KEY], timeout: 5 } as never),
    ).toThrow(new Error(OptionMessages.unknownOption('RedisSessionStore', 'timeout', undefined)));
    expect(
      () => new RedisSessionStore({ url, encryptionKeys: [KEY], keyprefix: 'x:' } as never),
    ).toThrow(
      new Error(OptionMessages.unknownOption('RedisSessionStore', 'keyprefix', 'keyPrefix')),
    );
  });

  it('refuses an unknown option before it checks the others', () => {
    expect(() => new RedisSessionStore({ encryptionKeys: [KEY], URL: url } as never)).toThrow(
      new Error(OptionMessages.unknownOption('RedisSessionStore', 'URL', 'url')),
    );
  });

  it('leaves what goes to ioredis unchecked: redisOptions and a given client', () => {
    const redisOptions = { host: '127.0.0.1', port: 1, lazyConnect: true, madeUpOption: true };
    const created = new RedisSessionStore({ redisOptions, encryptionKeys: [KEY] } as never);
    expect(created.client.status).toBe('wait');
    created.client.disconnect();
    const client = Object.assign(new Redis({ lazyConnect: true, enableOfflineQueue: false }), {
      extra: 1,
    });
    const given = new RedisSessionStore({ client, encryptionKeys: [KEY] });
    expect(given.client).toBe(client);
    client.disconnect();
  });

  it('rejects options that are not an object, and keeps the wording of a bad value', () => {
    expect(() => new RedisSessionStore(null as never)).toThrow(
      new Error('RedisSessionStore: option "options" must be an object; got null'),
    );
    expect(
      () => new RedisSessionStore({ url, encryptionKeys: [KEY], keyPrefix: 5 } as never),
    ).toThrow(
      new Error(
        OptionMessages.invalidOption(
          'RedisSessionStore',
          'keyPrefix',
          'a string of at most 256 characters',
          5,
        ),
      ),
    );
    expect(
      () => new RedisSessionStore({ url, encryptionKeys: [KEY], commandTimeout: 2 ** 31 }),
    ).toThrow(
      new Error(
        OptionMessages.invalidOption(
          'RedisSessionStore',
          'commandTimeout',
          'a positive integer number of milliseconds',
          2 ** 31,
        ),
      ),
    );
  });
});
