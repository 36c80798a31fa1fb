import { randomBytes } from 'node:crypto';
import {
  CALL_KEYID,
  CALL_NONCE,
  CALL_SIGNATURE_METADATA,
  callSignatureParams,
  formatCallSignature,
} from './call-signature-entry.js';
import { createContentDigest } from './content-digest.js';
import { checkSignatureInput, signComponents, type SignatureInput } from './request-signer.js';
import { callSignatureBase, hmacSha256 } from './signature-base.js';
import { SessionMessages } from '../../core/session.messages.js';
import { GRPC_SIGNING_PROFILE } from './signing-profile.js';
import { SigningMessages } from './signing.messages.js';

/** What {@link signGrpcCall} needs. */
export interface SignGrpcCallInput extends SignatureInput {
  /** The full method path, such as `/greeter.v1.Greeter/Greet`. */
  path: string;
  /** The request message exactly as serialised on the wire (protobuf bytes, no gRPC framing). */
  message: Uint8Array;
}

/**
 * The metadata {@link signGrpcCall} adds to a call: by default the one `x-mesh-signature`
 * entry; with `format: 'rfc9421'`, the three RFC 9421 entries.
 */
export type SignedCallMetadata = CallSignatureMetadata | Rfc9421CallMetadata;

/** The single entry of a signed call (the default form). */
export interface CallSignatureMetadata {
  'x-mesh-signature': string;
}

/** The three RFC 9421 entries of a signed call. */
export interface Rfc9421CallMetadata {
  'signature-input': string;
  signature: string;
  'content-digest': string;
}

/** How {@link signGrpcCall} writes the signature. */
export interface SignGrpcCallOptions {
  /**
   * `'entry'`: one `x-mesh-signature` entry, the cheaper form for both ends; `'rfc9421'`:
   * `signature-input`, `signature` and `content-digest`, for peers that speak RFC 9421. The
   * guard accepts both; the signature base is the same.
   *
   * @default 'entry'
   */
  format?: 'entry' | 'rfc9421';
}

// A method path is "/" + service + "/" + method, with a package-qualified service name.
const METHOD_PATH = /^\/[A-Za-z_][\w.]*\/[A-Za-z_]\w*$/;

/**
 * Signs one gRPC unary (or server-streaming) call for signature mode: an RFC 9421 signature
 * base, hmac-sha256 with the session key, covering `@path` (the full method path) and
 * `content-digest` (RFC 9530 SHA-256 of the request message's protobuf bytes), with `created`,
 * `nonce`, `keyid` and `alg`. By default it is sent as one `x-mesh-signature` entry (the
 * server derives the digest from the bytes it received); `format: 'rfc9421'` gives the three
 * RFC 9421 entries instead. `MeshClient` and `meshGrpcInterceptor()` do this for every call;
 * use it directly for another client.
 *
 * @param input the method path, the serialised message and the session
 * @param options the form of the metadata
 * @returns the metadata entries to send with the call
 * @throws {TypeError} when `path` is not a gRPC method path, or an argument is malformed (a
 *   given `nonce` must be 16 to 128 base64url characters in the default form)
 * @example
 * ```ts
 * const bytes = Greeter.encode({ name: 'World' }).finish();
 * const entries = signGrpcCall({
 *   path: '/greeter.v1.Greeter/Greet', message: bytes, sessionId: session.id, sessionKey: key,
 * });
 * for (const [key, value] of Object.entries(entries)) metadata.set(key, value);
 * ```
 */
export function signGrpcCall(input: SignGrpcCallInput): CallSignatureMetadata;
export function signGrpcCall(
  input: SignGrpcCallInput,
  options: { format: 'rfc9421' },
): Rfc9421CallMetadata;
export function signGrpcCall(
  input: SignGrpcCallInput,
  options?: SignGrpcCallOptions,
): SignedCallMetadata;
export function signGrpcCall(
  input: SignGrpcCallInput,
  options: SignGrpcCallOptions = {},
): SignedCallMetadata {
  if (typeof input.path !== 'string' || !METHOD_PATH.test(input.path)) {
    throw new TypeError(SigningMessages.callUnsignable(String(input.path)));
  }
  const digest = createContentDigest(input.message);
  if (options.format !== 'rfc9421') return signEntry(input, digest);
  const valueOf = (name: string): string => (name === '@path' ? input.path : digest);
  const signed = signComponents(GRPC_SIGNING_PROFILE.required, valueOf, input);
  if (signed === undefined) throw new TypeError(SigningMessages.callUnsignable(input.path));
  return { ...signed, 'content-digest': digest };
}

/** The default form: the same signature base, sent as one entry. */
function signEntry(input: SignGrpcCallInput, digest: string): CallSignatureMetadata {
  checkSignatureInput(input);
  const { sessionId, nonce = randomBytes(32).toString('base64url') } = input;
  if (!CALL_NONCE.test(nonce)) {
    throw new TypeError(
      SessionMessages.invalidArgument('nonce', '16 to 128 base64url characters', nonce),
    );
  }
  if (!CALL_KEYID.test(sessionId)) {
    throw new TypeError(SessionMessages.invalidArgument('sessionId', 'a session id', sessionId));
  }
  const created = input.created ?? Math.floor(Date.now() / 1000);
  const base = callSignatureBase(
    input.path,
    digest,
    callSignatureParams(created, nonce, sessionId),
  );
  // The path was checked above and a digest holds no line break: a base always exists.
  const signature = hmacSha256(input.sessionKey, base as string);
  return {
    [CALL_SIGNATURE_METADATA]: formatCallSignature({ keyid: sessionId, created, nonce, signature }),
  };
}
