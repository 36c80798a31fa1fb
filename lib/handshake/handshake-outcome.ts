import { HttpException } from '@nestjs/common';
import { SessionStoreUnavailableException } from '../guard/session.exceptions.js';
import { HandshakeFailedException, HandshakeRateLimitException } from './handshake.exceptions.js';

/**
 * The `mesh_session.outcome` of a handshake that threw: `failed` (401), `rate_limited` (429),
 * `store_unavailable` (503, also answered on an unexpected error), `error` otherwise.
 *
 * @param error what `HandshakeService.accept` threw
 * @returns the outcome attribute of `mesh_session.handshakes`
 * @example
 * ```ts
 * handshakeOutcomeOf(new HandshakeRateLimitException(3)); // 'rate_limited'
 * ```
 */
export function handshakeOutcomeOf(error: unknown): string {
  if (error instanceof HandshakeFailedException) return 'failed';
  if (error instanceof HandshakeRateLimitException) return 'rate_limited';
  if (error instanceof SessionStoreUnavailableException) return 'store_unavailable';
  return error instanceof HttpException ? 'failed' : 'error';
}
