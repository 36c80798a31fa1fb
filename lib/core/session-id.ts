import { randomUUID } from 'node:crypto';

/**
 * The value of each lower-case hex digit by character code (below 128); -1 for anything else.
 * Internal: the memory store reads ids into words with it too.
 *
 * @internal
 */
export const HEX_DIGIT_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) HEX_DIGIT_VALUE['0123456789abcdef'.charCodeAt(i)] = i;
/** 1 for each digit a UUID's variant (RFC 9562) may start with, by character code. */
const VARIANT = new Uint8Array(128);
for (const digit of '89ab') VARIANT[digit.charCodeAt(0)] = 1;
const DASH = '-'.charCodeAt(0);
const VERSION_4 = '4'.charCodeAt(0);

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
  if (typeof value !== 'string' || value.length !== 36) return false;
  // Character by character rather than a regular expression: about half the time on an id just
  // read from a header, on the path of every guarded request.
  if (
    value.charCodeAt(8) !== DASH ||
    value.charCodeAt(13) !== DASH ||
    value.charCodeAt(18) !== DASH ||
    value.charCodeAt(23) !== DASH ||
    value.charCodeAt(14) !== VERSION_4
  ) {
    return false;
  }
  const variant = value.charCodeAt(19);
  if (variant > 127 || VARIANT[variant] === 0) return false;
  for (let i = 0; i < 36; i++) {
    if (i === 8 || i === 13 || i === 18 || i === 23) continue;
    const code = value.charCodeAt(i);
    if (code > 127 || HEX_DIGIT_VALUE[code] < 0) return false;
  }
  return true;
}
