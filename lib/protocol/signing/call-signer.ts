import { createContentDigest } from './content-digest.js';
import { signComponents, type SignatureInput } from './request-signer.js';
import { GRPC_SIGNING_PROFILE } from './signing-profile.js';
import { SigningMessages } from './signing.messages.js';

/** What {@link signGrpcCall} needs. */
export interface SignGrpcCallInput extends SignatureInput {
  /** The full method path, such as `/greeter.v1.Greeter/Greet`. */
  path: string;
  /** The request message exactly as serialised on the wire (protobuf bytes, no gRPC framing). */
  message: Uint8Array;
}

/** The metadata entries {@link signGrpcCall} adds to a call. */
export interface SignedCallMetadata {
  'signature-input': string;
  signature: string;
  'content-digest': string;
}

// A method path is "/" + service + "/" + method, with a package-qualified service name.
const METHOD_PATH = /^\/[A-Za-z_][\w.]*\/[A-Za-z_]\w*$/;

/**
 * Signs one gRPC unary (or server-streaming) call for signature mode: RFC 9421, hmac-sha256
 * with the session key, covering `@path` (the full method path) and `content-digest` (RFC 9530
 * SHA-256 of the request message's protobuf bytes), with `created`, `nonce`, `keyid` and `alg`.
 * `MeshClient` and `meshCallCredentials()` do this for every call; use it directly for another
 * client.
 *
 * @param input the method path, the serialised message and the session
 * @returns the metadata entries to send with the call
 * @throws {TypeError} when `path` is not a gRPC method path
 * @example
 * ```ts
 * const bytes = Greeter.encode({ name: 'World' }).finish();
 * const entries = signGrpcCall({
 *   path: '/greeter.v1.Greeter/Greet', message: bytes, sessionId: session.id, sessionKey: key,
 * });
 * for (const [key, value] of Object.entries(entries)) metadata.set(key, value);
 * ```
 */
export function signGrpcCall(input: SignGrpcCallInput): SignedCallMetadata {
  if (typeof input.path !== 'string' || !METHOD_PATH.test(input.path)) {
    throw new TypeError(SigningMessages.callUnsignable(String(input.path)));
  }
  const digest = createContentDigest(input.message);
  const signed = signComponents(
    GRPC_SIGNING_PROFILE.required,
    (name) => (name === '@path' ? input.path : digest),
    input,
  );
  if (signed === undefined) throw new TypeError(SigningMessages.callUnsignable(input.path));
  return { ...signed, 'content-digest': digest };
}
