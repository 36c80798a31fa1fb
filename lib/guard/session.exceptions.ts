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
 * 429 from `SessionGuard`: the service is over its rate limit.
 */
export class SessionRateLimitException extends HttpException {
  /** @param message caller-facing text */
  constructor(message: string = SessionMessages.rateLimited()) {
    super(message, HttpStatus.TOO_MANY_REQUESTS);
  }
}

/**
 * 503 from `SessionGuard`: the store failed or did not answer in time. The request is never
 * let through, and never answered 401, so that clients retry instead of re-authenticating.
 */
export class SessionStoreUnavailableException extends ServiceUnavailableException {
  /** @param message caller-facing text */
  constructor(message: string = SessionMessages.storeUnavailable()) {
    super(message);
  }
}
