import { HttpException } from '@nestjs/common';
import { Metadata } from '@grpc/grpc-js';
import { RpcException } from '@nestjs/microservices';
import { GRPC_STATUS_OF_HTTP } from '../guard/grpc-refusal.js';
import { STORE_UNAVAILABLE_RETRY_AFTER } from '../guard/session-guard.constants.js';
import { GRPC_STATUS } from '../protocol/grpc/grpc-status.js';
import { HandshakeRateLimitException } from '../handshake/handshake.exceptions.js';

/**
 * The gRPC form of a refusal of `HandshakeService`, with the HTTP endpoint's message:
 * UNAUTHENTICATED `Handshake failed`; RESOURCE_EXHAUSTED with a `retry-after` trailer (seconds);
 * UNAVAILABLE with `retry-after: 1` when the store fails, so that the client tries again shortly
 * instead of giving up on the peer.
 *
 * @param error what the handshake threw
 * @returns the `RpcException` to throw, or the error itself when it is no refusal (a bug)
 * @example
 * ```ts
 * try { return await handshakes.accept(hello, peer); } catch (error) { throw handshakeRpcException(error); }
 * ```
 */
export function handshakeRpcException(error: unknown): unknown {
  if (!(error instanceof HttpException)) return error;
  const code = GRPC_STATUS_OF_HTTP[error.getStatus()];
  if (code === undefined) return error;
  const retryAfter =
    error instanceof HandshakeRateLimitException
      ? error.retryAfter
      : code === GRPC_STATUS.UNAVAILABLE
        ? STORE_UNAVAILABLE_RETRY_AFTER
        : undefined;
  if (retryAfter === undefined) return new RpcException({ code, message: error.message });
  const metadata = new Metadata();
  metadata.set('retry-after', String(retryAfter));
  return new RpcException({ code, message: error.message, metadata });
}
