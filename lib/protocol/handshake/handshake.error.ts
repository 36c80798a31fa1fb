/**
 * Why a handshake failed, precisely. The reason goes to the log and to the audit event only:
 * callers always get the generic 401 `Handshake failed`, so that a probe learns nothing about
 * which check it failed.
 *
 * @example
 * ```ts
 * throw new HandshakeError('timestamp outside the allowed clock skew');
 * ```
 */
export class HandshakeError extends Error {
  /** @param reason the precise reason, for operators; holds no secret */
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'HandshakeError';
  }
}
