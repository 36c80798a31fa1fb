import type { RateLimitResult } from '../core/rate-limiter.js';
import type { SessionGuardResponse } from './session-guard-request.js';

/**
 * Writes the `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` fields (seconds),
 * as `@nestjs/throttler` names them: on every guarded response while rate limiting is on, so
 * that a caller can slow down before it is refused.
 *
 * @param response where the headers go
 * @param limit the budget per window
 * @param result the limiter's decision
 * @param now the current time (ms)
 * @returns the seconds until the window resets
 * @example
 * ```ts
 * writeRateLimitHeaders(response, 100, await limiter.checkLimit('billing'));
 * // RateLimit-Limit: 100, RateLimit-Remaining: 99, RateLimit-Reset: 60
 * ```
 */
export function writeRateLimitHeaders(
  response: SessionGuardResponse,
  limit: number,
  result: RateLimitResult,
  now: number = Date.now(),
): number {
  const resetSeconds = Math.max(0, Math.ceil((result.resetTime.getTime() - now) / 1000));
  response.header('RateLimit-Limit', String(limit));
  response.header('RateLimit-Remaining', String(result.remaining));
  response.header('RateLimit-Reset', String(resetSeconds));
  return resetSeconds;
}

/**
 * Writes the refusal headers of a request over the rate limit: the `RateLimit-*` fields of
 * {@link writeRateLimitHeaders}, and `Retry-After`. On gRPC they become trailing metadata.
 *
 * @param response where the headers go
 * @param limit the budget per window
 * @param result the limiter's decision
 * @param now the current time (ms)
 * @example
 * ```ts
 * writeRateLimitRefusal(response, 100, refused); // Retry-After: 12, RateLimit-Remaining: 0, ...
 * ```
 */
export function writeRateLimitRefusal(
  response: SessionGuardResponse,
  limit: number,
  result: RateLimitResult,
  now: number = Date.now(),
): void {
  const resetSeconds = writeRateLimitHeaders(response, limit, result, now);
  response.header('Retry-After', String(result.retryAfter ?? resetSeconds));
}
