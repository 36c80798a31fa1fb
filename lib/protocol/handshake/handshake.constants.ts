/**
 * Where the handshake is served, relative to the app (and its global prefix).
 *
 * @default '/mesh/handshake'
 */
export const DEFAULT_HANDSHAKE_PATH = '/mesh/handshake';

/**
 * How far a handshake timestamp, or a signed request's `created`, may be from the server's
 * clock (ms).
 *
 * @default 60_000
 */
export const DEFAULT_MAX_CLOCK_SKEW = 60_000;

/**
 * Default rate limit of the handshake endpoint, per peer address.
 */
export const DEFAULT_HANDSHAKE_RATE_LIMIT = Object.freeze({
  maxRequests: 60,
  windowMs: 60_000,
  blockDuration: 60_000,
});

/** Version of the handshake protocol, carried in both messages. */
export const HANDSHAKE_PROTOCOL_VERSION = 1;

/**
 * Media type of the client hello. The hello is JSON, sent as `text/plain` so that no framework
 * body parser touches it: Express leaves the stream alone and Fastify hands over a string, and
 * the handshake parses it itself, strictly and within {@link MAX_HANDSHAKE_BODY_BYTES}. A
 * framework JSON parser would answer a malformed hello with its own 400 instead of the generic
 * 401.
 */
export const HANDSHAKE_CONTENT_TYPE = 'text/plain; charset=utf-8';

/** Largest accepted client hello, in bytes. A real one is about 400 bytes. */
export const MAX_HANDSHAKE_BODY_BYTES = 4_096;

/** Longest accepted `clientVersion` in a client hello, in characters. */
export const MAX_CLIENT_VERSION_LENGTH = 64;

/** Size in bytes of an X25519 public key, of a handshake nonce, and of the session key. */
export const HANDSHAKE_KEY_BYTES = 32;

/** Size in bytes of an Ed25519 signature. */
export const ED25519_SIGNATURE_BYTES = 64;

/**
 * A route path of unreserved-character segments, such as `/mesh/handshake`: no route
 * parameters (`:id`) or wildcards for Nest to read. The handshake path, on the server
 * (`handshake.path`) and on the client (`services[id].handshakePath`), must match it.
 */
export const ROUTE_PATH = /^(\/[A-Za-z0-9._~-]+)+$/;
