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
    // With Sentinel (ignored otherwise): move to the new master as soon as the sentinels
    // announce a failover, instead of writing to the old one until it drops the connection.
    failoverDetector: true,
  };
}

/**
 * Options the store sets last, over `redisOptions`, so that no call outlasts `commandTimeout`.
 * ioredis 6 stretches `commandTimeout` to `maintRelaxedCommandTimeout` (10 s by default) while
 * the server announces maintenance: here it stays `commandTimeout`. ioredis 5 ignores it.
 *
 * @param commandTimeout the store's `commandTimeout` (ms)
 * @returns ioredis options
 * @example
 * ```ts
 * new Redis({ ...redisClientDefaults(500), ...userOptions, ...redisClientLimits(500) });
 * ```
 */
export function redisClientLimits(commandTimeout: number): RedisOptions {
  const limits: RedisOptions & { maintRelaxedCommandTimeout?: number } = {
    commandTimeout,
    maintRelaxedCommandTimeout: commandTimeout,
  };
  return limits;
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
 * Creates the client of a store given `url` or `redisOptions` (a single server, or a master found
 * through Sentinel): the fail-fast defaults, then the user's `redisOptions`, then the store's
 * `commandTimeout` ({@link redisClientLimits}), which always wins. It works with ioredis 5 and 6.
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
    ...redisClientLimits(options.commandTimeout),
  };
  const client =
    options.url !== undefined
      ? new RedisClient(options.url, clientOptions)
      : new RedisClient(clientOptions);
  if (clientOptions.sentinels && clientOptions.failoverDetector) dropStaleFailoverDetector(client);
  return client;
}

/** The part of ioredis's Sentinel connector that {@link dropStaleFailoverDetector} reaches. */
interface SentinelConnectorInternals {
  connector?: {
    failoverDetector?: { isDisconnected?: boolean; cleanup?: () => void } | null;
  };
}

/**
 * Unsubscribes a Sentinel client's failover detector when its connection closes, as ioredis 6
 * does itself. ioredis 5 keeps it subscribed: a failover announced while the client reconnects
 * then ends the client for good (it never reconnects again), and after `quit()` its sentinel
 * connections stay open. The next connection subscribes a new detector.
 *
 * @param client a client created with `sentinels` and `failoverDetector: true`
 */
function dropStaleFailoverDetector(client: Redis): void {
  client.on('close', () => {
    const connector = (client as unknown as SentinelConnectorInternals).connector;
    const detector = connector?.failoverDetector;
    if (!connector || !detector) return;
    if (detector.isDisconnected !== true) detector.cleanup?.();
    // Cleaned once: ioredis 5 would clean it again before the next one, and each extra
    // cleanup leaves a 2 s timer per sentinel connection.
    connector.failoverDetector = null;
  });
}
