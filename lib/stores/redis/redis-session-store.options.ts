import type { Cluster, Redis, RedisOptions } from 'ioredis';
import { MAX_TIMER_MS, OptionChecks } from '../../core/option-checks.js';
import { RedisStoreMessages } from './redis-store.messages.js';

/**
 * Options of {@link RedisSessionStore}. Exactly one of `client`, `url` and `redisOptions` says
 * where Redis is.
 *
 * @example
 * ```ts
 * new RedisSessionStore({ url: 'redis://localhost:6379', encryptionKeys: [key] });
 * new RedisSessionStore({ client: new Cluster([{ host: 'redis-0', port: 6379 }]), encryptionKeys: [key] });
 * new RedisSessionStore({
 *   redisOptions: { sentinels: [{ host: 'sentinel-0', port: 26379 }], name: 'mymaster' },
 *   encryptionKeys: [key],
 * });
 * ```
 */
export interface RedisSessionStoreOptions {
  /**
   * An existing ioredis `Redis` or `Cluster` client. The store never disconnects it, and uses it
   * as configured. For fail-fast behaviour while Redis is down, create it with
   * `{ enableOfflineQueue: false, maxRetriesPerRequest: 0 }`; under load,
   * `enableAutoPipelining: true` lets concurrent checks share socket writes (ioredis sends them
   * on `setImmediate`, so tests with fake timers must let that run).
   */
  client?: Redis | Cluster;
  /**
   * A Redis URL (`redis://` or `rediss://`). The store creates the client and closes it at
   * shutdown.
   */
  url?: string;
  /**
   * ioredis options for a single server, or for a master found through Sentinel
   * (`{ sentinels: [{ host, port }, ...], name: 'mymaster' }`). The store creates the client and
   * closes it at shutdown. They override the store's fail-fast defaults (docs/redis-store.md,
   * "When Redis is down or slow"), except `commandTimeout`, which the store's own option sets.
   */
  redisOptions?: RedisOptions;
  /**
   * AES-256-GCM keys, 32 bytes each, that seal the session keys at rest. The first encrypts;
   * every one decrypts, so a new key goes first and old ones stay until their sessions expire.
   */
  encryptionKeys: readonly Buffer[];
  /**
   * Prefix of every key the store writes.
   *
   * @default 'mesh:'
   */
  keyPrefix?: string;
  /**
   * How long one Redis call may take before it fails (ms), so that the guard answers 503
   * quickly when Redis is slow or gone.
   *
   * @default 500
   */
  commandTimeout?: number;
}

/**
 * The options after defaults and validation.
 *
 * @example
 * ```ts
 * const { keyPrefix, commandTimeout } = resolveRedisSessionStoreOptions(options);
 * ```
 */
export interface ResolvedRedisSessionStoreOptions {
  readonly client: Redis | Cluster | undefined;
  readonly url: string | undefined;
  readonly redisOptions: RedisOptions | undefined;
  readonly encryptionKeys: readonly Buffer[];
  readonly keyPrefix: string;
  readonly commandTimeout: number;
}

/**
 * Default values of {@link RedisSessionStoreOptions}.
 *
 * @example
 * ```ts
 * new RedisSessionStore({ url, encryptionKeys, keyPrefix: REDIS_SESSION_STORE_DEFAULTS.keyPrefix });
 * ```
 */
export const REDIS_SESSION_STORE_DEFAULTS = Object.freeze({
  keyPrefix: 'mesh:',
  commandTimeout: 500,
});

const ENCRYPTION_KEY_LENGTH = 32;
const MAX_KEY_PREFIX_LENGTH = 256;
const KNOWN_OPTIONS: readonly (keyof RedisSessionStoreOptions)[] = [
  'client',
  'url',
  'redisOptions',
  'encryptionKeys',
  'keyPrefix',
  'commandTimeout',
];

const check: OptionChecks = new OptionChecks('RedisSessionStore');

/**
 * Applies defaults and validates the options of {@link RedisSessionStore}. What is passed
 * through to ioredis (`redisOptions`, a given `client`) is left for ioredis to check.
 *
 * @param options what the user passed
 * @returns the resolved options
 * @throws {Error} naming the first bad or unknown option
 * @example
 * ```ts
 * resolveRedisSessionStoreOptions({ url: 'redis://localhost', encryptionKeys: [key] });
 * ```
 */
export function resolveRedisSessionStoreOptions(
  options: RedisSessionStoreOptions,
): ResolvedRedisSessionStoreOptions {
  check.knownKeys('', options, KNOWN_OPTIONS);
  const { client, url, redisOptions } = checkLocation(options);
  const encryptionKeys = checkEncryptionKeys(options.encryptionKeys);
  const keyPrefix = options.keyPrefix ?? REDIS_SESSION_STORE_DEFAULTS.keyPrefix;
  if (typeof keyPrefix !== 'string' || keyPrefix.length > MAX_KEY_PREFIX_LENGTH) {
    check.fail('keyPrefix', `a string of at most ${MAX_KEY_PREFIX_LENGTH} characters`, keyPrefix);
  }
  const commandTimeout = check.duration(
    'commandTimeout',
    options.commandTimeout,
    REDIS_SESSION_STORE_DEFAULTS.commandTimeout,
  );
  // It becomes a timer, and a timer longer than MAX_TIMER_MS fires at once.
  if (commandTimeout > MAX_TIMER_MS) {
    check.fail('commandTimeout', 'a positive integer number of milliseconds', commandTimeout);
  }
  return Object.freeze({
    client,
    url,
    redisOptions,
    encryptionKeys,
    keyPrefix,
    commandTimeout,
  });
}

/** Exactly one of `client`, `url` and `redisOptions`, of the right kind. */
function checkLocation(
  options: RedisSessionStoreOptions,
): Pick<ResolvedRedisSessionStoreOptions, 'client' | 'url' | 'redisOptions'> {
  const given = (['client', 'url', 'redisOptions'] as const).filter(
    (name) => options[name] !== undefined,
  );
  if (given.length !== 1) throw new Error(RedisStoreMessages.redisLocation(given));

  const { client, url, redisOptions } = options;
  if (client !== undefined && !isIoredisClient(client)) {
    check.fail('client', 'an ioredis Redis or Cluster client', client);
  }
  if (url !== undefined && (typeof url !== 'string' || !/^rediss?:\/\/\S*$/i.test(url))) {
    check.fail('url', 'a redis:// or rediss:// URL', url);
  }
  if (
    redisOptions !== undefined &&
    (redisOptions === null || typeof redisOptions !== 'object' || Array.isArray(redisOptions))
  ) {
    check.fail('redisOptions', 'an ioredis options object', redisOptions);
  }
  return { client, url, redisOptions };
}

/** A non-empty array of 32-byte Buffers, copied and frozen. */
function checkEncryptionKeys(keys: unknown): readonly Buffer[] {
  if (!Array.isArray(keys) || keys.length === 0) {
    check.fail('encryptionKeys', 'a non-empty array of 32-byte Buffers', keys);
  }
  keys.forEach((key: unknown, i) => {
    if (!Buffer.isBuffer(key) || key.length !== ENCRYPTION_KEY_LENGTH) {
      check.fail(`encryptionKeys[${i}]`, 'a Buffer of exactly 32 bytes', key);
    }
  });
  return Object.freeze([...(keys as Buffer[])]);
}

/** Duck-typed, so that a client from another copy of ioredis is accepted too. */
function isIoredisClient(value: unknown): value is Redis | Cluster {
  const client = value as Partial<Record<'evalsha' | 'call' | 'status', unknown>> | null;
  return (
    typeof client === 'object' &&
    client !== null &&
    typeof client.evalsha === 'function' &&
    typeof client.call === 'function' &&
    typeof client.status === 'string'
  );
}
