import {
  HttpException,
  HttpStatus,
  ServiceUnavailableException,
  UnauthorizedException,
} from '@nestjs/common';
import { SessionMessages } from '../core/session.messages.js';

/**
 * 401 from `SessionGuard`: the request has no valid session.
 *
 * @example
 * ```ts
 * throw new SessionUnauthorizedException(SessionMessages.sessionNotFound());
 * ```
 */
export class SessionUnauthorizedException extends UnauthorizedException {}

/**
 * 429 from `SessionGuard`: the service is over its rate limit. Its body has the shape of the
 * guard's 401 and 503 bodies: `statusCode`, `message` and `error`.
 *
 * @example
 * ```ts
 * new SessionRateLimitException().getResponse();
 * // { statusCode: 429, message: 'Rate limit exceeded', error: 'Too Many Requests' }
 * ```
 */
export class SessionRateLimitException extends HttpException {
  /** @param message caller-facing text */
  constructor(message: string = SessionMessages.rateLimited()) {
    super(
      HttpException.createBody(message, 'Too Many Requests', HttpStatus.TOO_MANY_REQUESTS),
      HttpStatus.TOO_MANY_REQUESTS,
    );
  }
}

/**
 * 503 from `SessionGuard`: the store failed or did not answer in time. The request is never
 * let through, and never answered 401, so that clients retry instead of re-authenticating.
 */
export class SessionStoreUnavailableException extends ServiceUnavailableException {
  /**
   * @param message caller-facing text
   * @param options what the store threw, as `cause`: kept for logs and metrics (a
   *   `StoreTimeoutError` is a `store_timeout` refusal), never sent to the caller
   */
  constructor(message: string = SessionMessages.storeUnavailable(), options?: { cause?: unknown }) {
    super(message, options);
  }
}
