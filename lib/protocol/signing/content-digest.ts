import { hash, timingSafeEqual } from 'node:crypto';
import { parseDictionary, serializeDictionary } from 'structured-headers';
import { readCanonicalByteSequence } from './canonical-fields.js';
import { SIGNATURE_HEADER_LIMITS } from './signing.constants.js';

const SHA_256 = 'sha-256';
const ALGORITHMS: Readonly<Record<string, { hash: string; bytes: number }>> = {
  'sha-256': { hash: 'sha256', bytes: 32 },
  'sha-512': { hash: 'sha512', bytes: 64 },
};

/**
 * Builds an RFC 9530 `Content-Digest` value with SHA-256 over the exact body bytes.
 *
 * @param body the raw body
 * @returns for example `sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:`
 * @example
 * ```ts
 * createContentDigest(Buffer.from('{"hello": "world"}'));
 * ```
 */
export function createContentDigest(body: Uint8Array): string {
  // The one-shot hash: no Hash object per request.
  return `sha-256=:${hash('sha256', body, 'base64')}:`;
}

/**
 * Checks a `Content-Digest` value against the body. The value must be a canonical Structured
 * Fields dictionary of byte sequences, within the size bound, holding `sha-256` (and at most
 * `sha-512` besides); every digest it holds must match.
 *
 * @param header the header value as received
 * @param body the raw body bytes
 * @returns `'match'`, `'mismatch'`, or `'malformed'`
 * @example
 * ```ts
 * verifyContentDigest(createContentDigest(body), body); // 'match'
 * verifyContentDigest('sha-256=:AAAA:', body); // 'malformed': not 32 bytes
 * ```
 */
export function verifyContentDigest(
  header: string,
  body: Uint8Array,
): 'match' | 'mismatch' | 'malformed' {
  if (header.length > SIGNATURE_HEADER_LIMITS['content-digest']) return 'malformed';
  // The form createContentDigest emits, read without the general parser; anything else goes
  // through it (see canonical-fields.ts), so both accept and refuse the same values.
  const canonical = readCanonicalByteSequence(header);
  if (canonical !== undefined && canonical.key === SHA_256) {
    if (Buffer.byteLength(canonical.base64, 'base64') !== ALGORITHMS[SHA_256].bytes) {
      return 'malformed';
    }
    // Both sides are canonical base64, so equal texts are equal bytes. A digest of the body is
    // no secret (the sender has the body): comparing it needs no constant time.
    return hash(ALGORITHMS[SHA_256].hash, body, 'base64') === canonical.base64
      ? 'match'
      : 'mismatch';
  }
  let entries;
  try {
    const dictionary = parseDictionary(header);
    if (serializeDictionary(dictionary) !== header) return 'malformed';
    entries = [...dictionary.entries()];
  } catch {
    return 'malformed';
  }
  if (!entries.some(([name]) => name === SHA_256)) return 'malformed';
  let matches = true;
  for (const [name, member] of entries) {
    const algorithm = Object.hasOwn(ALGORITHMS, name) ? ALGORITHMS[name] : undefined;
    const [value, parameters] = member;
    if (
      algorithm === undefined ||
      !(value instanceof ArrayBuffer) ||
      parameters.size > 0 ||
      value.byteLength !== algorithm.bytes
    ) {
      return 'malformed';
    }
    const actual = hash(algorithm.hash, body, 'buffer');
    matches = timingSafeEqual(Buffer.from(value), actual) && matches;
  }
  return matches ? 'match' : 'mismatch';
}
