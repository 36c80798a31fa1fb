/**
 * Settings of a `RequestVerifier`.
 *
 * @example
 * ```ts
 * new RequestVerifier(sessions, { maxClockSkew: 30_000, warn: (m) => logger.error(m) });
 * ```
 */
export interface RequestVerifierOptions {
  /**
   * How far a request's `created` may be from this server's clock (ms).
   *
   * @default DEFAULT_MAX_CLOCK_SKEW
   */
  maxClockSkew?: number;
  /**
   * Told, once, that a body could not be verified because its raw bytes are missing: that is a
   * setup problem of the app, not a caller's, so it goes to the operator rather than the 401.
   *
   * @default console.error
   */
  warn?: (message: string) => void;
  /**
   * How many verified sessions to keep the key of, so that a request of a session seen lately
   * takes one store call (claim the nonce and slide) instead of two (read, then claim). Worth it
   * on a remote store, where each call is a round trip; `0` turns it off. An ended or revoked
   * session is still refused on its next request, by that one call.
   *
   * @default 0
   */
  sessionCache?: number;
}
