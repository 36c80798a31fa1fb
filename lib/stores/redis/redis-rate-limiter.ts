import { RateLimiterRedis, type RateLimiterAbstract } from 'rate-limiter-flexible';
import {
  RateLimiter,
  type RateLimiterOptions,
  type RateLimitResult,
} from '../../core/rate-limiter.js';
import type { RedisConnection } from './redis-connection.js';

/**
 * The {@link RateLimiter} of the Redis store: rate-limiter-flexible's `RateLimiterRedis` on the
 * store's client, so every instance shares one budget per service. It waits for the client's
 * first connection (up to `commandTimeout`) like the store's own calls do, so that requests
 * arriving while an app starts are not refused; after that, a lost connection fails checks at
 * once and the guard answers 503.
 *
 * @example
 * ```ts
 * const limiter = redisStore.createRateLimiter({ maxRequests: 100, windowMs: 60_000 });
 * await limiter.checkLimit('billing'); // counted in Redis
 * ```
 */
export class RedisRateLimiter extends RateLimiter {
  /**
   * A limiter counting on the connection's client, under its own key prefix.
   *
   * @param options limits
   * @param connection the store's connection
   * @param keyPrefix prefix of the counters' keys (rate-limiter-flexible adds `:<key>`)
   * @example
   * ```ts
   * RedisRateLimiter.onConnection(options, connection, keys.rateLimitPrefix);
   * ```
   */
  static onConnection(
    options: RateLimiterOptions,
    connection: RedisConnection,
    keyPrefix: string,
  ): RedisRateLimiter {
    const limiter = new RateLimiterRedis({
      storeClient: connection.client,
      keyPrefix,
      // Fail at once while disconnected: the guard answers 503.
      rejectIfRedisNotReady: true,
      ...RateLimiter.toFlexibleOptions(options),
    });
    return new RedisRateLimiter(options, limiter, connection);
  }

  /**
   * @param options limits
   * @param limiter a `RateLimiterRedis` built from the same options
   * @param connection the store's connection, whose first connection checks wait for
   */
  constructor(
    options: RateLimiterOptions,
    limiter: RateLimiterAbstract,
    private readonly connection: RedisConnection,
  ) {
    super(options, limiter);
  }

  /**
   * Counts one request for `key`.
   *
   * @throws when Redis fails, is away, or was never reached within `commandTimeout`
   */
  override checkLimit(key: string): Promise<RateLimitResult> {
    const connecting = this.connection.firstConnection();
    return connecting === undefined
      ? super.checkLimit(key)
      : connecting.then(() => super.checkLimit(key));
  }
}
