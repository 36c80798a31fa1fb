import { randomUUID } from 'node:crypto';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/**
 * Creates a new random session id (UUID v4, lower case).
 *
 * @returns the id
 */
export function createSessionId(): string {
  return randomUUID();
}

/**
 * Tells whether a value is a well-formed session id, without any store lookup. Ids are
 * lower-case UUID v4, as `crypto.randomUUID()` makes them; an upper-case id cannot name a
 * session, so it is refused here rather than looked up.
 *
 * @param value anything, usually a header value
 * @returns `true` for a UUID v4 string
 * @example
 * ```ts
 * isSessionId('not-a-uuid'); // false
 * ```
 */
export function isSessionId(value: unknown): value is string {
  return typeof value === 'string' && value.length === 36 && UUID_V4.test(value);
}
