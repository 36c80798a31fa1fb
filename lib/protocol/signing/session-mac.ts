import { copySessionKeyInto, MeshSession } from '../../core/mesh-session.js';
import type { Session } from '../../core/session.interface.js';
import { macMatches } from './signature-base.js';

/**
 * Where a stored session's key sits while its HMAC is computed, wiped right after: a Buffer of
 * its own (not in the shared pool), zero between checks, so that a check makes no key Buffer.
 */
const KEY_SCRATCH = Buffer.allocUnsafeSlow(32).fill(0);

/**
 * Whether `signature` is the hmac-sha256 of `base` under a session's key. The key is copied
 * only once the base is built, and wiped as soon as the HMAC is computed:
 * - a session the memory store holds copies its key into one scratch Buffer, so that no Buffer
 *   is made per request;
 * - any other `MeshSession` hands out a copy of its own, wiped here;
 * - a plain `Session` from a custom store may hand out the Buffer it keeps, which stays intact.
 *
 * @param session the session the request is signed with
 * @param signature the signature received, as base64 text
 * @param base the signature base
 * @returns `true` when they match
 * @throws {Error} when the session was removed from its store meanwhile: its key is gone
 * @example
 * ```ts
 * if (!sessionMacMatches(session, parsed.signature, base)) throw new Error('invalid');
 * ```
 * @internal
 */
export function sessionMacMatches(session: Session, signature: string, base: string): boolean {
  if (session instanceof MeshSession && copySessionKeyInto(session, KEY_SCRATCH)) {
    try {
      return macMatches(signature, KEY_SCRATCH, base);
    } finally {
      KEY_SCRATCH.fill(0);
    }
  }
  const key = session.sessionKey;
  try {
    return macMatches(signature, key, base);
  } finally {
    if (session instanceof MeshSession) key.fill(0);
  }
}
