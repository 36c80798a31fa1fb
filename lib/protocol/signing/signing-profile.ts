import { SigningMessages } from './signing.messages.js';

/**
 * What a signature must cover on one transport. HTTP requests are identified by their method
 * and full target URI; a gRPC call is always an HTTP/2 `POST`, identified by its method path
 * (`/package.Service/Method`), and always carries a message.
 */
export interface SigningProfile {
  /** The transport, as named in messages. */
  readonly transport: 'http' | 'grpc';
  /** Components every signature must cover. */
  readonly required: readonly string[];
  /** Components a signature may cover; anything else is malformed. */
  readonly known: readonly string[];
  /** The 401 text for a signature that leaves a required component or parameter out. */
  readonly incomplete: () => string;
  /** The operator's warning when the bytes the signature covers were not kept. */
  readonly bytesMissing: () => string;
}

/** HTTP: `@method` and `@target-uri`, and `content-digest` when the request has a body. */
export const HTTP_SIGNING_PROFILE: SigningProfile = Object.freeze({
  transport: 'http',
  required: Object.freeze(['@method', '@target-uri']),
  known: Object.freeze(['@method', '@target-uri', 'content-digest']),
  incomplete: SigningMessages.signatureIncomplete,
  bytesMissing: SigningMessages.rawBodyMissing,
});

/** gRPC: `@path` (the full method path) and `content-digest` (the request message's bytes). */
export const GRPC_SIGNING_PROFILE: SigningProfile = Object.freeze({
  transport: 'grpc',
  required: Object.freeze(['@path', 'content-digest']),
  known: Object.freeze(['@path', 'content-digest']),
  incomplete: SigningMessages.callSignatureIncomplete,
  bytesMissing: SigningMessages.messageBytesMissing,
});
