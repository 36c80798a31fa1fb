import type { RateLimitResult } from '../core/rate-limiter.js';
import type { SessionGuardResponse } from './session-guard-request.js';

/**
 * Writes the refusal headers of a request over the rate limit: `Retry-After`, and the
 * `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` fields (seconds), as
 * `@nestjs/throttler` names them. On gRPC they become trailing metadata.
 *
 * @param response where the headers go
 * @param limit the budget per window
 * @param result the limiter's decision
 * @param now the current time (ms)
 */
export function writeRateLimitRefusal(
  response: SessionGuardResponse,
  limit: number,
  result: RateLimitResult,
  now: number = Date.now(),
): void {
  const resetSeconds = Math.max(0, Math.ceil((result.resetTime.getTime() - now) / 1000));
  response.header('Retry-After', String(result.retryAfter ?? resetSeconds));
  response.header('RateLimit-Limit', String(limit));
  response.header('RateLimit-Remaining', String(result.remaining));
  response.header('RateLimit-Reset', String(resetSeconds));
}
