/**
 * Why signature mode refused a request.
 */
export type SignatureRejectionReason =
  | 'signature_missing'
  | 'signature_malformed'
  | 'signature_incomplete'
  | 'signature_algorithm'
  | 'signature_stale'
  | 'signature_replayed'
  | 'digest_mismatch'
  | 'body_unverifiable'
  | 'signature_invalid';

/**
 * Thrown by `RequestVerifier.verify()` when a signed request is refused. The guard turns it
 * into a 401; its message is the text sent to the caller, and never holds key material.
 *
 * @example
 * ```ts
 * try { await verifier.verify(parts); } catch (e) {
 *   if (e instanceof SignatureVerificationError && e.reason === 'signature_replayed') ...
 * }
 * ```
 */
export class SignatureVerificationError extends Error {
  /**
   * @param reason machine-readable reason
   * @param message caller-facing text, from `SigningMessages`
   */
  constructor(
    readonly reason: SignatureRejectionReason,
    message: string,
  ) {
    super(message);
    this.name = 'SignatureVerificationError';
  }
}
