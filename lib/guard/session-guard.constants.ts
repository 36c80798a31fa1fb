/**
 * Request header that carries the session id in session-id mode.
 *
 * @default 'x-mesh-session-id'
 */
export const DEFAULT_SESSION_HEADER = 'x-mesh-session-id';

/**
 * Metadata key written by {@link SkipSession}.
 */
export const SKIP_SESSION_KEY = 'mesh-session:skip';

/**
 * `Retry-After` (seconds) of the 503 answered when the store fails or is slow, by the guard and
 * the handshake endpoint: most store outages are short, and a 401 would make every client
 * handshake again.
 *
 * @default 1
 */
export const STORE_UNAVAILABLE_RETRY_AFTER = 1;
