import { randomBytes } from 'node:crypto';
import { SESSION_KEY_LENGTH } from './session.constants.js';

/**
 * A fresh session key: 32 random bytes from the operating system's CSPRNG, the `Buffer` that
 * `SessionManager.createSession` requires (it refuses any other length). In signature mode it
 * is the HMAC-SHA256 key both sides sign and verify with, so the caller must hold the same
 * bytes; the handshake derives one for each session by itself. In session-id mode the guard
 * never reads it, but a session still needs one.
 *
 * @returns a new 32-byte Buffer
 * @example
 * ```ts
 * import { generateSessionKey } from 'nestjs-mesh-session';
 *
 * const session = await sessions.createSession('billing', generateSessionKey());
 * // Session-id mode: billing sends `x-mesh-session-id: ${session.id}`.
 * ```
 */
export function generateSessionKey(): Buffer {
  return randomBytes(SESSION_KEY_LENGTH);
}
