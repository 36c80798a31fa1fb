import { createHmac, timingSafeEqual } from 'node:crypto';
import { HMAC_SHA256_BYTES } from './signing.constants.js';

const LINE_BREAK = /[\r\n]/;

/**
 * Builds the RFC 9421 signature base (§2.5): one line per covered component, then the
 * `@signature-params` line, joined by `\n` with no trailing newline.
 *
 * @param components the covered component names, in order
 * @param valueOf the value of each component, or `undefined` when the message lacks it
 * @param signatureParams the serialised inner list, with its parameters
 * @returns the base, or `undefined` when a component has no value
 * @example
 * ```ts
 * buildSignatureBase(['@method'], () => 'GET', '("@method");created=1;nonce="n";keyid="k";alg="hmac-sha256"');
 * // '"@method": GET\n"@signature-params": ("@method");created=1;...'
 * ```
 */
export function buildSignatureBase(
  components: readonly string[],
  valueOf: (component: string) => string | undefined,
  signatureParams: string,
): string | undefined {
  let base = '';
  for (const component of components) {
    const value = valueOf(component);
    // A newline would forge extra lines; the HTTP parsers refuse it, this keeps it certain.
    if (value === undefined || LINE_BREAK.test(value)) return undefined;
    base += `"${component}": ${value}\n`;
  }
  return `${base}"@signature-params": ${signatureParams}`;
}

/**
 * The signature base of a gRPC call signed in one `x-mesh-signature` entry: the string
 * {@link buildSignatureBase} gives for the gRPC profile's `@path` and `content-digest`, written
 * in one step (it is built on every signed call).
 *
 * @param path the full method path
 * @param digest the `Content-Digest` value of the message's bytes
 * @param signatureParams the serialised inner list, with its parameters
 * @returns the base, or `undefined` when the path is missing or holds a line break
 * @example
 * ```ts
 * callSignatureBase('/greeter.v1.Greeter/Greet', createContentDigest(bytes), params);
 * ```
 */
export function callSignatureBase(
  path: string | undefined,
  digest: string,
  signatureParams: string,
): string | undefined {
  if (path === undefined || LINE_BREAK.test(path) || LINE_BREAK.test(digest)) return undefined;
  return `"@path": ${path}\n"content-digest": ${digest}\n"@signature-params": ${signatureParams}`;
}

/**
 * hmac-sha256 of a signature base (RFC 9421 §3.3.3).
 *
 * @param key the session key
 * @param base the signature base
 * @returns the 32-byte MAC
 * @example
 * ```ts
 * timingSafeEqual(signature, hmacSha256(session.sessionKey, base));
 * ```
 */
export function hmacSha256(key: Buffer, base: string): Buffer {
  return createHmac('sha256', key).update(base, 'utf8').digest();
}

/**
 * Where a received signature's bytes are decoded to be compared: a Buffer of its own (not in
 * the shared pool), so that a check makes no Buffer for them. A signature is no secret.
 */
const RECEIVED = Buffer.allocUnsafeSlow(HMAC_SHA256_BYTES);

/**
 * Whether `signature` is the hmac-sha256 of `base` under `key`: its length first (public), then
 * its bytes in constant time.
 *
 * @param signature the signature received, as base64 text (canonical, or the 43 characters and
 *   `=` of a call signature entry)
 * @param key the session key
 * @param base the signature base
 * @returns `true` when they match
 * @example
 * ```ts
 * macMatches(parsed.signature, key, base);
 * ```
 */
export function macMatches(signature: string, key: Buffer, base: string): boolean {
  if (Buffer.byteLength(signature, 'base64') !== HMAC_SHA256_BYTES) return false;
  RECEIVED.write(signature, 'base64');
  return timingSafeEqual(RECEIVED, hmacSha256(key, base));
}

/**
 * The `@target-uri` of a request URL: scheme, authority, path and query, without fragment.
 * WHATWG URLs are already normalised (lower-case scheme and host, no default port), and are
 * sent as such by `fetch`, so the server rebuilds the same string from the request line and
 * `Host`.
 *
 * @param url the request URL
 * @returns the `@target-uri` value
 * @example
 * ```ts
 * targetUriOf(new URL('HTTP://Greeter:80/greet?x=1#top')); // 'http://greeter/greet?x=1'
 * ```
 */
export function targetUriOf(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}${url.search}`;
}
