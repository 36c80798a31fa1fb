import { SessionMessages } from './session.messages.js';
import { RateLimiterMemory, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { findRateLimiterOptionsProblem, type RateLimiterOptions } from './rate-limiter-options.js';

/**
 * Outcome of {@link RateLimiter.checkLimit}.
 */
export interface RateLimitResult {
  /** Whether this request is within the budget. */
  allowed: boolean;
  /** Requests left in the current window. */
  remaining: number;
  /** When the current window (or block) ends. */
  resetTime: Date;
  /** Seconds to wait before retrying; set when `allowed` is `false`. */
  retryAfter?: number;
}

/**
 * Per-key rate limiting, built on rate-limiter-flexible (fixed window with
 * blocking). The module keys it on `session.serviceId`, so every session of a service shares one
 * budget.
 *
 * @example
 * ```ts
 * const limiter = new RateLimiter({ maxRequests: 100, windowMs: 60_000 });
 * const { allowed, retryAfter } = await limiter.checkLimit(session.serviceId);
 * ```
 */
export class RateLimiter {
  /** Requests allowed per window. */
  readonly maxRequests: number;
  /** The rate-limiter-flexible limiter that does the counting. */
  protected readonly limiter: RateLimiterAbstract;

  /**
   * @param options limits
   * @param limiter a rate-limiter-flexible limiter built from the same options, for a shared
   *   backend; by default a `RateLimiterMemory`
   * @throws {TypeError} naming the first bad option
   */
  constructor(options: RateLimiterOptions, limiter?: RateLimiterAbstract) {
    const problem = findRateLimiterOptionsProblem(options);
    if (problem !== undefined) {
      throw new TypeError(
        SessionMessages.invalidArgument(problem.field ?? 'options', problem.expected, problem.got),
      );
    }
    this.maxRequests = options.maxRequests;
    this.limiter = limiter ?? new RateLimiterMemory(RateLimiter.toFlexibleOptions(options));
  }

  /**
   * Translates our millisecond options into rate-limiter-flexible's (seconds).
   *
   * @param options limits in ms
   * @returns `points`, `duration` and `blockDuration` for rate-limiter-flexible
   */
  static toFlexibleOptions(options: RateLimiterOptions): {
    points: number;
    duration: number;
    blockDuration: number;
  } {
    return {
      points: options.maxRequests,
      duration: options.windowMs / 1000,
      blockDuration: (options.blockDuration ?? options.windowMs) / 1000,
    };
  }

  /**
   * Counts one request for `key` and says whether it is allowed.
   *
   * @param key what to count, such as a service id
   * @returns the decision, with the remaining budget and when it resets
   * @throws when the backend fails (for a shared backend): callers answer 503
   */
  async checkLimit(key: string): Promise<RateLimitResult> {
    try {
      const res = await this.limiter.consume(key);
      return {
        allowed: true,
        remaining: res.remainingPoints,
        resetTime: new Date(Date.now() + res.msBeforeNext),
      };
    } catch (error) {
      if (!(error instanceof RateLimiterRes)) throw error;
      return {
        allowed: false,
        remaining: 0,
        resetTime: new Date(Date.now() + error.msBeforeNext),
        retryAfter: Math.max(1, Math.ceil(error.msBeforeNext / 1000)),
      };
    }
  }

  /**
   * Forgets the count of one key.
   *
   * @param key the key to reset
   */
  async reset(key: string): Promise<void> {
    await this.limiter.delete(key);
  }

  /**
   * Releases timers held by an in-memory backend. Safe to call more than once.
   */
  async close(): Promise<void> {
    // rate-limiter-flexible's memory storage keeps an (unref'd) timer per key and offers no
    // way to clear them all, so walk its map and delete each key through the public API.
    const storage = (this.limiter as unknown as { _memoryStorage?: { _storage?: unknown } })
      ._memoryStorage?._storage;
    if (!(storage instanceof Map)) return;
    for (const key of [...storage.keys()] as string[]) {
      (
        this.limiter as unknown as { _memoryStorage: { delete(k: string): boolean } }
      )._memoryStorage.delete(key);
    }
  }
}
export type { RateLimiterOptions } from './rate-limiter-options.js';
