import { CALL_SIGNATURE_METADATA } from '../protocol/signing/call-signature-entry.js';
import type { SignedRequestParts } from '../protocol/signing/signed-request-parts.js';
import { GRPC_SIGNING_PROFILE } from '../protocol/signing/signing-profile.js';
import { messageBytesOf } from '../protocol/grpc/message-bytes.js';
import { SigningMessages } from '../protocol/signing/signing.messages.js';
import { SignatureVerificationError } from '../protocol/signing/signature-verification.error.js';
import { isMessageStream, metadataHeaders, type GrpcCall } from './grpc-call.js';
import { SessionUnauthorizedException } from './session.exceptions.js';
import type { SessionGuardRequest } from './session-guard-request.js';

/** The metadata a signed gRPC call carries. */
const SIGNATURE_METADATA = ['signature-input', 'signature', 'content-digest'];

/**
 * The parts of an HTTP request that signature mode verifies. The request has a body when its
 * headers announce one (`Content-Length` above 0, or `Transfer-Encoding`) or when the platform
 * kept body bytes anyway: a body must be covered by `content-digest` however it arrived.
 *
 * @param request the Express or Fastify request
 * @param targetUri its `@target-uri`, as the guard rebuilt it
 * @returns the parts for `RequestVerifier.verify`
 */
export function signedRequestParts(
  request: SessionGuardRequest,
  targetUri: string | undefined,
): SignedRequestParts {
  const length = request.headers['content-length'];
  const rawBody = Buffer.isBuffer(request.rawBody) ? request.rawBody : undefined;
  return {
    method: request.method ?? '',
    targetUri,
    headers: request.headers,
    rawBody,
    hasBody:
      (typeof length === 'string' && Number(length) > 0) ||
      request.headers['transfer-encoding'] !== undefined ||
      (rawBody !== undefined && rawBody.length > 0),
  };
}

/**
 * The `@target-uri` of an HTTP request as this server sees it: scheme, `Host` and the raw path
 * and query.
 *
 * @param request the Express or Fastify request
 * @returns the URI, or `undefined` without a host or path
 */
export function requestTargetUri(request: SessionGuardRequest): string | undefined {
  const authority = request.headers[':authority'] ?? request.headers.host;
  const path = request.originalUrl ?? request.url;
  if (typeof authority !== 'string' || authority === '' || typeof path !== 'string') {
    return undefined;
  }
  return `${schemeOf(request)}://${authority.toLowerCase()}${path}`;
}

/**
 * The request's scheme, as the platform's `protocol` gives it. Without `X-Forwarded-Proto`,
 * Express and Fastify both answer it from the socket alone, whatever proxies they trust, so it
 * is read there: Express's getter looks its proxy trust up on every request.
 */
function schemeOf(request: SessionGuardRequest): string {
  const socket = request.socket;
  if (request.headers['x-forwarded-proto'] === undefined && socket != null) {
    return socket.encrypted === true ? 'https' : 'http';
  }
  return request.protocol ?? 'http';
}

/**
 * The parts of a gRPC call that signature mode verifies: the method path, the signature
 * metadata (the `x-mesh-signature` entry, or the RFC 9421 entries), and the request message's
 * bytes as `withMessageBytes()` kept them.
 *
 * @param call the gRPC call
 * @returns the parts for `RequestVerifier.verify`, with the gRPC profile
 * @throws {SessionUnauthorizedException} on a client-streaming call, whose messages no
 *   signature covers
 */
export function signedCallParts(call: GrpcCall): SignedRequestParts {
  if (isMessageStream(call.message)) {
    const message = SigningMessages.streamUnsignable();
    throw new SessionUnauthorizedException(message, {
      cause: new SignatureVerificationError('signature_incomplete', message),
    });
  }
  const entry = call.metadata.get(CALL_SIGNATURE_METADATA);
  return {
    method: 'POST',
    targetUri: undefined,
    path: call.path,
    headers: metadataHeaders(call.metadata, SIGNATURE_METADATA),
    // Sent twice or binary, the entry is malformed: the empty string says so to the verifier.
    callSignature:
      entry.length === 0
        ? undefined
        : entry.length === 1 && typeof entry[0] === 'string'
          ? entry[0]
          : '',
    rawBody: messageBytesOf(call.message),
    hasBody: true,
    profile: GRPC_SIGNING_PROFILE,
  };
}
