import { BadRequestException, HttpException } from '@nestjs/common';
import { isStoreTimeout } from '../core/session-telemetry.js';
import {
  SessionValidationError,
  type SessionRejectionReason,
} from '../core/session-validation.error.js';
import {
  SignatureVerificationError,
  type SignatureRejectionReason,
} from '../protocol/signing/signature-verification.error.js';
import {
  SessionRateLimitException,
  SessionStoreUnavailableException,
} from './session.exceptions.js';

/**
 * Why the guard refused a request: the `mesh_session.refusal.reason` attribute of
 * `mesh_session.guard.requests`. A bounded set: the session checks' reasons, signature mode's
 * own ({@link SignatureRejectionReason}), and `other` for a refusal that carries no reason (one
 * a subclass adds).
 */
export type GuardRefusalReason =
  | 'missing'
  | 'invalid'
  | 'unknown_or_expired'
  | 'revoked'
  | 'rate_limited'
  | 'store_unavailable'
  | 'store_timeout'
  | 'message_undecodable'
  | SignatureRejectionReason
  | 'other';

/** The session checks' reasons, as the metric names them. */
const SESSION_REASONS: Readonly<Record<SessionRejectionReason, GuardRefusalReason>> = {
  missing: 'missing',
  invalid: 'invalid',
  not_found: 'unknown_or_expired',
  revoked: 'revoked',
};

/**
 * The refusal reason of what the guard threw, for `mesh_session.guard.requests`. Called on the
 * refusal path only, and only when telemetry records.
 *
 * @param error what the guard's check threw, before any gRPC conversion
 * @returns the reason; `other` for an error the table does not know
 * @example
 * ```ts
 * const revoked = new SessionValidationError('revoked', SessionMessages.sessionRevoked());
 * refusalReasonOf(new SessionUnauthorizedException(revoked.message, { cause: revoked })); // 'revoked'
 * ```
 */
export function refusalReasonOf(error: unknown): GuardRefusalReason {
  if (error instanceof SessionRateLimitException) return 'rate_limited';
  if (error instanceof SessionStoreUnavailableException) {
    return isStoreTimeout(error.cause) ? 'store_timeout' : 'store_unavailable';
  }
  if (error instanceof BadRequestException) return 'message_undecodable';
  // A 401 keeps what the session checks or the verifier threw as its cause, with its reason.
  const cause = error instanceof HttpException ? error.cause : undefined;
  if (cause instanceof SignatureVerificationError) return cause.reason;
  if (cause instanceof SessionValidationError) return SESSION_REASONS[cause.reason];
  return 'other';
}
