import type { RateLimiter, RateLimitResult } from '../core/rate-limiter.js';
import type { SessionManager } from '../core/session-manager.js';
import { SessionValidationError } from '../core/session-validation.error.js';
import { SignatureVerificationError } from '../protocol/signing/signature-verification.error.js';
import { writeRateLimitRefusal } from './rate-limit-headers.js';
import { STORE_UNAVAILABLE_RETRY_AFTER } from './session-guard.constants.js';
import type { SessionGuardResponse } from './session-guard-request.js';
import {
  SessionRateLimitException,
  SessionStoreUnavailableException,
  SessionUnauthorizedException,
} from './session.exceptions.js';
import type { StoreFailureLog } from './store-failure-log.js';

// The HTTP refusals of `SessionGuard`'s checks, built from what failed; on a gRPC call the guard
// answers each as its gRPC status (grpc-refusal.ts).

/**
 * The 401 for a session the checks refused, or `undefined` when anything else failed (the
 * store, whose failure is a 503). A refusal is an answer from the store: it ends an outage in
 * the store-failure log.
 *
 * @param error what `SessionManager.validateSessionNow` or `validateSession` threw
 * @param storeFailures the log of store failures
 * @returns the 401, or `undefined` when the store failed
 * @example
 * ```ts
 * throw sessionRefusal(error, storeFailures) ?? storeUnavailable(response, error);
 * ```
 */
export function sessionRefusal(
  error: unknown,
  storeFailures: StoreFailureLog,
): SessionUnauthorizedException | undefined {
  if (!(error instanceof SessionValidationError)) return undefined;
  storeFailures.answered();
  return new SessionUnauthorizedException(error.message, { cause: error });
}

/**
 * The 401 for a signature or session that signature mode refused, or `undefined` when anything
 * else failed (the store, whose failure is a 503).
 *
 * @param error what `RequestVerifier.verifyNow` threw or rejected with
 * @returns the 401, or `undefined` when the store failed
 * @example
 * ```ts
 * throw signatureRefusal(error) ?? storeUnavailable(response, error);
 * ```
 */
export function signatureRefusal(error: unknown): SessionUnauthorizedException | undefined {
  return error instanceof SignatureVerificationError || error instanceof SessionValidationError
    ? new SessionUnauthorizedException(error.message, { cause: error })
    : undefined;
}

/**
 * The 429 for a service over its rate limit: writes the refusal's `Retry-After` and
 * `RateLimit-*` headers and records the rejection.
 *
 * @param sessions records the rejection (an audit event and the rejection count)
 * @param limiter the limiter that refused, for its budget
 * @param result the limiter's refusal
 * @param serviceId the service over its budget
 * @param response where the headers go
 * @returns the 429 to throw
 * @example
 * ```ts
 * if (!result.allowed) throw rateLimitRefusal(sessions, limiter, result, serviceId, response);
 * ```
 */
export function rateLimitRefusal(
  sessions: SessionManager,
  limiter: RateLimiter,
  result: RateLimitResult,
  serviceId: string,
  response: SessionGuardResponse,
): SessionRateLimitException {
  writeRateLimitRefusal(response, limiter.maxRequests, result);
  sessions.recordRejection('rate_limit', 'rate_limited', serviceId);
  return new SessionRateLimitException();
}

/**
 * The 503 for a failed or slow store, with the `Retry-After` that asks the client to retry
 * shortly. The failure goes to the store-failure log, and the rejection is recorded.
 *
 * @param storeFailures the log of store failures, which summarises an outage
 * @param sessions records the rejection
 * @param response where `Retry-After` goes
 * @param cause what the store call threw, kept as the 503's `cause`
 * @returns the 503 to throw
 * @example
 * ```ts
 * throw storeUnavailableRefusal(storeFailures, sessions, response, error);
 * ```
 */
export function storeUnavailableRefusal(
  storeFailures: StoreFailureLog,
  sessions: SessionManager,
  response: SessionGuardResponse,
  cause: unknown,
): SessionStoreUnavailableException {
  storeFailures.failed(cause);
  sessions.recordRejection('error', 'store_unavailable');
  response.header('Retry-After', String(STORE_UNAVAILABLE_RETRY_AFTER));
  return new SessionStoreUnavailableException(undefined, { cause });
}
