// The hmac-floor variants' one check: what no verification of a signed request or call can
// skip, used by bench/http/server.mjs and bench/grpc/server.mjs.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

const KEY = randomBytes(32);
const EXPECTED = randomBytes(32);

/**
 * One HMAC-SHA256 over a signature base, compared in constant time with a fixed MAC; the answer
 * is ignored (the floor measures the work, not the verdict).
 * @param {string} base the signature base
 */
export function hmacFloor(base) {
  timingSafeEqual(createHmac('sha256', KEY).update(base).digest(), EXPECTED);
}
