import { randomBytes } from 'node:crypto';
import { serializeInnerList, type Item, type Parameters } from 'structured-headers';
import { SigningMessages } from './signing.messages.js';
import { createContentDigest } from './content-digest.js';
import { buildSignatureBase, hmacSha256, targetUriOf } from './signature-base.js';
import {
  DIGEST_COMPONENT,
  NONCE_LENGTH,
  SIGNATURE_ALGORITHM,
  SIGNATURE_LABEL,
} from './signing.constants.js';
import { SESSION_KEY_LENGTH } from '../../core/session.constants.js';
import { SessionMessages } from '../../core/session.messages.js';

/** What {@link signRequest} needs. */
export interface SignRequestInput {
  /** HTTP method, upper case as sent. */
  method: string;
  /** The full request URL, as passed to `fetch`. */
  url: URL | string;
  /** The exact body bytes; omit for a request without a body. */
  body?: Uint8Array;
  /** The session id: the signature's `keyid`. */
  sessionId: string;
  /** The 32-byte session key. */
  sessionKey: Buffer;
  /**
   * Creation time (s since the epoch).
   *
   * @default now
   */
  created?: number;
  /**
   * One-time value.
   *
   * @default 32 random bytes in base64url
   */
  nonce?: string;
}

/** The headers {@link signRequest} adds. */
export interface SignedRequestHeaders {
  'signature-input': string;
  signature: string;
  /** Present when the request has a body. */
  'content-digest'?: string;
}

/**
 * Signs a request for signature mode (RFC 9421, hmac-sha256): covers `@method`, `@target-uri`
 * and, with a body, `content-digest` (RFC 9530, SHA-256), with `created`, `nonce`, `keyid`
 * and `alg`. `MeshClient` does this for every request; use it directly for another client.
 *
 * @param input the request and the session
 * @returns the headers to send with the request
 * @example
 * ```ts
 * const headers = signRequest({
 *   method: 'POST', url: 'http://greeter:3000/greet', body: Buffer.from('{"name":"World"}'),
 *   sessionId: session.id, sessionKey: key,
 * });
 * ```
 */
export function signRequest(input: SignRequestInput): SignedRequestHeaders {
  const url = typeof input.url === 'string' ? new URL(input.url) : input.url;
  const method = input.method.toUpperCase();
  const digest = input.body === undefined ? undefined : createContentDigest(input.body);
  const components = [
    '@method',
    '@target-uri',
    ...(digest === undefined ? [] : [DIGEST_COMPONENT]),
  ];
  const values: Record<string, string | undefined> = {
    '@method': method,
    '@target-uri': targetUriOf(url),
    [DIGEST_COMPONENT]: digest,
  };
  const signed = signComponents(components, (name) => values[name], input);
  if (signed === undefined) throw new TypeError(SigningMessages.requestUnsignable());
  return digest === undefined ? signed : { ...signed, 'content-digest': digest };
}

// Structured Fields integers have at most 15 digits (RFC 8941 §3.3.1).
const MAX_SF_INTEGER = 999_999_999_999_999;
// Structured Fields strings hold printable ASCII; the verifier refuses anything else.
const SF_STRING = /^[\x20-\x7e]*$/;

/**
 * The session and the parameters, as the verifier will accept them: a mistake is the caller's
 * to fix, so it is a TypeError here rather than a 401 from the server.
 *
 * @param input the session, and `created` and `nonce` when given
 * @throws {TypeError} naming the argument that is malformed
 */
export function checkSignatureInput(input: SignatureInput): void {
  const { sessionId, sessionKey, nonce, created } = input;
  if (typeof sessionId !== 'string' || sessionId.length === 0 || !SF_STRING.test(sessionId)) {
    throw new TypeError(SessionMessages.invalidArgument('sessionId', 'a session id', sessionId));
  }
  if (!Buffer.isBuffer(sessionKey) || sessionKey.length !== SESSION_KEY_LENGTH) {
    throw new TypeError(
      SessionMessages.invalidArgument(
        'sessionKey',
        `a ${SESSION_KEY_LENGTH}-byte Buffer`,
        sessionKey,
      ),
    );
  }
  if (
    nonce !== undefined &&
    (typeof nonce !== 'string' ||
      nonce.length < NONCE_LENGTH.min ||
      nonce.length > NONCE_LENGTH.max ||
      !SF_STRING.test(nonce))
  ) {
    throw new TypeError(
      SessionMessages.invalidArgument(
        'nonce',
        `${NONCE_LENGTH.min} to ${NONCE_LENGTH.max} printable ASCII characters`,
        nonce,
      ),
    );
  }
  if (
    created !== undefined &&
    (!Number.isSafeInteger(created) || created < 0 || created > MAX_SF_INTEGER)
  ) {
    throw new TypeError(
      SessionMessages.invalidArgument('created', 'whole seconds since the epoch', created),
    );
  }
}

/** The session and the optional parameters every signature takes. */
export type SignatureInput = Pick<
  SignRequestInput,
  'sessionId' | 'sessionKey' | 'created' | 'nonce'
>;

/**
 * Signs the given components with the session key: builds `@signature-params`, the signature
 * base, and the hmac-sha256 under the `mesh` label.
 *
 * @param components the covered component names, in order
 * @param valueOf each component's value
 * @param input the session, and `created` and `nonce` when not now and random
 * @returns the `Signature-Input` and `Signature` values, or `undefined` when a value is
 *   missing or holds a line break
 */
export function signComponents(
  components: readonly string[],
  valueOf: (component: string) => string | undefined,
  input: SignatureInput,
): Omit<SignedRequestHeaders, 'content-digest'> | undefined {
  checkSignatureInput(input);
  const parameters: Parameters = new Map<string, string | number>([
    ['created', input.created ?? Math.floor(Date.now() / 1000)],
    ['nonce', input.nonce ?? randomBytes(32).toString('base64url')],
    ['keyid', input.sessionId],
    ['alg', SIGNATURE_ALGORITHM],
  ]);
  const items: Item[] = components.map((name) => [name, new Map()]);
  const signatureParams = serializeInnerList([items, parameters]);
  const base = buildSignatureBase(components, valueOf, signatureParams);
  if (base === undefined) return undefined;
  const signature = hmacSha256(input.sessionKey, base);
  return {
    'signature-input': `${SIGNATURE_LABEL}=${signatureParams}`,
    signature: `${SIGNATURE_LABEL}=:${signature.toString('base64')}:`,
  };
}
