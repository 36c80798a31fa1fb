import { HttpException } from '@nestjs/common';
import { SessionMessages } from '../core/session.messages.js';
import { isStoreTimeout } from '../core/session-telemetry.js';
import { SigningMessages } from '../protocol/signing/signing.messages.js';
import { GuardMessages } from './guard.messages.js';
import {
  SessionRateLimitException,
  SessionStoreUnavailableException,
} from './session.exceptions.js';

/**
 * Why the guard refused a request: the `mesh_session.refusal.reason` attribute of
 * `mesh_session.guard.requests`. A bounded set; `other` stands for a refusal this table does
 * not know (one a subclass adds).
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
  | 'signature_missing'
  | 'signature_malformed'
  | 'signature_incomplete'
  | 'signature_algorithm'
  | 'signature_stale'
  | 'signature_replayed'
  | 'digest_mismatch'
  | 'body_unverifiable'
  | 'signature_invalid'
  | 'other';

/**
 * The 401 and 400 refusals by the message the caller gets: the one place where a refusal is
 * named for metrics. Every message is a fixed text, so a lookup is exact.
 */
const REASON_BY_MESSAGE: ReadonlyMap<string, GuardRefusalReason> = new Map([
  [SessionMessages.missingSessionId(), 'missing'],
  [SessionMessages.invalidSessionId(), 'invalid'],
  [SessionMessages.sessionNotFound(), 'unknown_or_expired'],
  [SessionMessages.sessionRevoked(), 'revoked'],
  [SigningMessages.signatureMissing(), 'signature_missing'],
  [SigningMessages.signatureMalformed(), 'signature_malformed'],
  [SigningMessages.signatureIncomplete(), 'signature_incomplete'],
  [SigningMessages.callSignatureIncomplete(), 'signature_incomplete'],
  [SigningMessages.streamUnsignable(), 'signature_incomplete'],
  [SigningMessages.signatureAlgorithm(), 'signature_algorithm'],
  [SigningMessages.signatureStale(), 'signature_stale'],
  [SigningMessages.signatureReplayed(), 'signature_replayed'],
  [SigningMessages.digestMismatch(), 'digest_mismatch'],
  [SigningMessages.bodyUnverifiable(), 'body_unverifiable'],
  [SigningMessages.signatureInvalid(), 'signature_invalid'],
  [GuardMessages.messageUndecodable(), 'message_undecodable'],
]);

/**
 * The refusal reason of what the guard threw, for `mesh_session.guard.requests`. Called on the
 * refusal path only, and only when telemetry records.
 *
 * @param error what the guard's check threw, before any gRPC conversion
 * @returns the reason; `other` for an error the table does not know
 * @example
 * ```ts
 * refusalReasonOf(new SessionUnauthorizedException(SessionMessages.sessionRevoked())); // 'revoked'
 * ```
 */
export function refusalReasonOf(error: unknown): GuardRefusalReason {
  if (error instanceof SessionRateLimitException) return 'rate_limited';
  if (error instanceof SessionStoreUnavailableException) {
    return isStoreTimeout(error.cause) ? 'store_timeout' : 'store_unavailable';
  }
  if (error instanceof HttpException) return REASON_BY_MESSAGE.get(error.message) ?? 'other';
  return 'other';
}
