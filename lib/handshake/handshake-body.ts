import type { Readable } from 'node:stream';
import { HandshakeMessages } from '../protocol/handshake/handshake.messages.js';
import { MAX_HANDSHAKE_BODY_BYTES } from '../protocol/handshake/handshake.constants.js';
import { HandshakeError } from '../protocol/handshake/handshake.error.js';

/** The parts of an Express or Fastify request the handshake endpoint reads. */
export interface HandshakeHttpRequest {
  headers: Record<string, string | string[] | undefined>;
  body?: unknown;
  rawBody?: Buffer;
  ip?: string;
  socket?: { remoteAddress?: string };
}

/**
 * Reads the client hello from the request, whatever the platform did with the body:
 * - `text/plain` on Express is left unread: the stream is read here, up to the size bound;
 * - `text/plain` on Fastify arrives as a string;
 * - `application/json` (from another client) arrives parsed; the framework has then already
 *   answered malformed JSON with its own 400.
 *
 * @param request the request
 * @param limit largest accepted body, in bytes
 * @returns the hello's JSON text or parsed value, or the reason it cannot be read
 */
export async function readHandshakeBody(
  request: HandshakeHttpRequest,
  limit = MAX_HANDSHAKE_BODY_BYTES,
): Promise<string | object | HandshakeError> {
  const declared = request.headers['content-length'];
  if (typeof declared === 'string' && Number(declared) > limit) {
    return new HandshakeError(HandshakeMessages.handshakeBodyTooLarge(limit));
  }
  const body = request.body;
  if (typeof body === 'string' || Buffer.isBuffer(body)) {
    return Buffer.byteLength(body) > limit
      ? new HandshakeError(HandshakeMessages.handshakeBodyTooLarge(limit))
      : body.toString();
  }
  if (Buffer.isBuffer(request.rawBody)) {
    return request.rawBody.length > limit
      ? new HandshakeError(HandshakeMessages.handshakeBodyTooLarge(limit))
      : request.rawBody.toString('utf8');
  }
  if (body !== null && typeof body === 'object' && Object.keys(body).length > 0) return body;
  if (isUnreadStream(request)) return readStream(request, limit);
  return new HandshakeError(HandshakeMessages.handshakeNoBody());
}

/**
 * The peer address the handshake rate limit keys on: the platform's `ip` (which follows the
 * app's trust-proxy setting), or the socket's address.
 *
 * @param request the request
 */
export function peerAddressOf(request: HandshakeHttpRequest): string {
  const address = request.ip ?? request.socket?.remoteAddress ?? 'unknown';
  // With a trusted proxy the address comes from a header: keep it fit for logs and keys.
  return address.replace(/[^\w.:%-]/g, '?').slice(0, 64);
}

function isUnreadStream(request: object): request is Readable {
  const stream = request as Partial<Readable>;
  return (
    typeof stream.on === 'function' &&
    stream.readable === true &&
    stream.readableEnded === false &&
    typeof stream[Symbol.asyncIterator] === 'function'
  );
}

function readStream(stream: Readable, limit: number): Promise<string | HandshakeError> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (result: string | HandshakeError): void => {
      stream.off('data', onData).off('end', onEnd).off('error', onError);
      resolve(result);
    };
    const onData = (chunk: Buffer | string): void => {
      const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
      size += bytes.length;
      chunks.push(bytes);
      if (size > limit) {
        // Not destroyed, so that the 401 still reaches the caller; the rest is discarded.
        finish(new HandshakeError(HandshakeMessages.handshakeBodyTooLarge(limit)));
        stream.resume();
      }
    };
    const onEnd = (): void => finish(Buffer.concat(chunks).toString('utf8'));
    const onError = (): void =>
      finish(new HandshakeError(HandshakeMessages.handshakeBodyUnreadable()));
    stream.on('data', onData).on('end', onEnd).on('error', onError);
  });
}
