import type { SigningProfile } from './signing-profile.js';
import { DIGEST_COMPONENT, SIGNATURE_HEADER_LIMITS } from './signing.constants.js';

/**
 * What the verifier needs from an HTTP request, whatever the platform, or from a gRPC call
 * (with `profile: GRPC_SIGNING_PROFILE`, the method path in `path`, the metadata in `headers`
 * and the request message's bytes in `rawBody`).
 */
export interface SignedRequestParts {
  /** The request method, as received (`POST` for a gRPC call). */
  method: string;
  /** The rebuilt `@target-uri`, or `undefined` when the request has no host. */
  targetUri: string | undefined;
  /** The request headers, with lower-case names. */
  headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The exact body bytes, when the platform kept them (`rawBody: true`). */
  rawBody: Buffer | undefined;
  /** Whether the request has a body (`Content-Length` above 0, chunked, or raw bytes kept). */
  hasBody: boolean;
  /** The `@path` value: a gRPC call's full method path. */
  path?: string;
  /**
   * A gRPC call's `x-mesh-signature` entry, when it carries one: the signature in one entry,
   * whose `content-digest` the verifier computes from `rawBody` rather than reads. The
   * RFC 9421 entries must then be absent from `headers`.
   */
  callSignature?: string;
  /**
   * What the signature must cover.
   *
   * @default HTTP_SIGNING_PROFILE
   */
  profile?: SigningProfile;
}

/**
 * The value of a component a signature covers: the parser has already refused any unknown
 * name, so anything else is `content-digest`.
 *
 * @param request the request's parts
 * @param component a covered component's name
 * @param digest the `Content-Digest` value the signature base takes
 * @returns the value, or `undefined` when the request has none
 * @example
 * ```ts
 * coveredValue(parts, '@method', undefined); // 'GET'
 * ```
 */
export function coveredValue(
  request: SignedRequestParts,
  component: string,
  digest: string | undefined,
): string | undefined {
  switch (component) {
    case '@method':
      return request.method;
    case '@target-uri':
      return request.targetUri;
    case '@path':
      return request.path;
    default:
      return digest;
  }
}

/**
 * The request's one `Content-Digest` header within its size bound.
 *
 * @param request the request's parts
 * @returns the value, or `undefined` when it is absent, repeated or too long
 * @example
 * ```ts
 * contentDigestHeader({ ...parts, headers: { 'content-digest': 'sha-256=:...:' } });
 * ```
 */
export function contentDigestHeader(request: SignedRequestParts): string | undefined {
  const value = request.headers[DIGEST_COMPONENT];
  return typeof value === 'string' && value.length <= SIGNATURE_HEADER_LIMITS['content-digest']
    ? value
    : undefined;
}
