import { createRequire } from 'node:module';
import type { Redis, RedisOptions } from 'ioredis';
import { RedisStoreMessages } from './redis-store.messages.js';
import type { ResolvedRedisSessionStoreOptions } from './redis-session-store.options.js';

type IoredisModule = { Redis?: new (...args: unknown[]) => Redis; default?: unknown };

/**
 * The ioredis options of a client the store creates itself, chosen so that an outage is short
 * and bounded for callers: every call fails fast while Redis is away, and the client comes back
 * within about half a second of Redis. `redisOptions` given by the user override them.
 *
 * @param commandTimeout the store's `commandTimeout` (ms)
 * @returns ioredis options
 * @example
 * ```ts
 * new Redis(url, { ...redisClientDefaults(500), ...userOptions });
 * ```
 */
export function redisClientDefaults(commandTimeout: number): RedisOptions {
  return {
    // No queue while disconnected: a call fails at once (the guard answers 503) instead of
    // piling up until Redis returns.
    enableOfflineQueue: false,
    // A call in flight when the connection drops fails at the first reconnect attempt.
    maxRetriesPerRequest: 0,
    // Never replay a call whose caller already saw it fail: a create would run twice.
    autoResendUnfulfilledCommands: false,
    // Keep reconnecting forever, at most 500 ms apart, so traffic resumes well within 2 s.
    retryStrategy: (attempt: number) => Math.min(attempt * 100, 500),
    connectTimeout: Math.max(1_000, commandTimeout * 2),
    // How long a closing socket may linger before it is destroyed.
    disconnectTimeout: commandTimeout,
    commandTimeout,
  };
}

/**
 * Loads ioredis when the store needs to create a client, so that importing the library never
 * requires it.
 *
 * @param load how to load a module; tests pass their own
 * @returns ioredis's `Redis` class
 * @throws {Error} saying what to install when ioredis is missing
 * @example
 * ```ts
 * const RedisClient = loadIoredis();
 * ```
 */
export function loadIoredis(
  load: (id: string) => unknown = createRequire(import.meta.url),
): new (...args: unknown[]) => Redis {
  let mod: IoredisModule;
  try {
    mod = load('ioredis') as IoredisModule;
  } catch (error) {
    if ((error as NodeJS.ErrnoException)?.code === 'MODULE_NOT_FOUND') {
      throw new Error(RedisStoreMessages.ioredisMissing(), { cause: error });
    }
    throw error;
  }
  return (mod.Redis ?? mod.default) as new (...args: unknown[]) => Redis;
}

/**
 * Creates the client of a store given `url` or `redisOptions`: the fail-fast defaults, then the
 * user's `redisOptions`, then the store's `commandTimeout`, which always wins.
 *
 * @param options the resolved store options, without `client`
 * @returns a new ioredis client, connecting
 * @throws {Error} when ioredis is not installed
 * @example
 * ```ts
 * const client = createRedisClient(resolveRedisSessionStoreOptions({ url, encryptionKeys }));
 * ```
 */
export function createRedisClient(options: ResolvedRedisSessionStoreOptions): Redis {
  const RedisClient = loadIoredis();
  const clientOptions: RedisOptions = {
    ...redisClientDefaults(options.commandTimeout),
    ...options.redisOptions,
    commandTimeout: options.commandTimeout,
  };
  return options.url !== undefined
    ? new RedisClient(options.url, clientOptions)
    : new RedisClient(clientOptions);
}
