// The verify-floor variants' check, used by bench/http/server.mjs and bench/grpc/server.mjs:
// every step a signature check must take, each done the plainest way. The headers (or the call's
// one entry) are read by one regular expression each, which accepts the form the library's
// signers emit and nothing else; `created` is checked against the clock; one HMAC-SHA256 over the
// signature base is compared in constant time with the received bytes; and the nonce is claimed
// in a `Set`, refused when seen before. The session itself is read (and slid) by the guard this
// check runs in, SessionGuard in session-id mode.
//
// What it leaves out, so that it stays a floor: the general Structured Fields path for any other
// form, the bounds and canonical checks on every field, the nonce's expiry (the Set only grows,
// for the few seconds a bench server lives), refusal counting and audit, and the session key (a
// fixed key: the HMAC's answer is ignored, as the hmac-floor's is).
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

const KEY = randomBytes(32);
/** As the library's default clock skew (ms). */
const MAX_CLOCK_SKEW = 60_000;
const claimed = new Set();

/** `Signature-Input` as `signRequest` emits it for a request without a body. */
export const HTTP_INPUT =
  /^([a-z][a-z0-9_.*-]*)=(\("@method" "@target-uri"\);created=([1-9][0-9]{0,14});nonce="([0-9A-Za-z_-]{16,128})";keyid="([0-9a-f-]{36})";alg="hmac-sha256")$/;
/** `Signature`: one member, a byte sequence of 32 bytes in padded base64. */
export const HTTP_SIGNATURE = /^([a-z][a-z0-9_.*-]*)=:([0-9A-Za-z+/]{43}=):$/;
/** A call's `x-mesh-signature` entry, as `signGrpcCall` emits it. */
export const CALL_ENTRY =
  /^keyid=([0-9a-f-]{36});created=([1-9][0-9]{0,14});nonce=([0-9A-Za-z_-]{16,128});sig=([0-9A-Za-z+/]{43}=)$/;

/**
 * The steps after reading: freshness, the HMAC compared in constant time, the nonce claimed.
 *
 * @param {string} created `created`, as read
 * @param {string} nonce the nonce, as read
 * @param {string} base the signature base
 * @param {string} signature the received MAC, base64
 * @returns {string | undefined} why the request is refused, or `undefined`
 */
export function verifyFloor(created, nonce, base, signature) {
  if (Math.abs(Date.now() - Number(created) * 1000) > MAX_CLOCK_SKEW) return 'stale';
  timingSafeEqual(
    createHmac('sha256', KEY).update(base).digest(),
    Buffer.from(signature, 'base64'),
  );
  if (claimed.has(nonce)) return 'replayed';
  claimed.add(nonce);
  return undefined;
}
