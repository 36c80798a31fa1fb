import { HttpException, HttpStatus } from '@nestjs/common';
import { Metadata, status as GrpcStatus } from '@grpc/grpc-js';
import { RpcException } from '@nestjs/microservices';
import { STORE_UNAVAILABLE_RETRY_AFTER } from '../guard/session-guard.constants.js';
import { HandshakeRateLimitException } from '../handshake/handshake.exceptions.js';

/** The gRPC status of each refusal of the HTTP endpoint. */
const STATUS_OF_HTTP: Readonly<Record<number, GrpcStatus>> = {
  [HttpStatus.UNAUTHORIZED]: GrpcStatus.UNAUTHENTICATED,
  [HttpStatus.TOO_MANY_REQUESTS]: GrpcStatus.RESOURCE_EXHAUSTED,
  [HttpStatus.SERVICE_UNAVAILABLE]: GrpcStatus.UNAVAILABLE,
};

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
  const code = STATUS_OF_HTTP[error.getStatus()];
  if (code === undefined) return error;
  const retryAfter =
    error instanceof HandshakeRateLimitException
      ? error.retryAfter
      : code === GrpcStatus.UNAVAILABLE
        ? STORE_UNAVAILABLE_RETRY_AFTER
        : undefined;
  if (retryAfter === undefined) return new RpcException({ code, message: error.message });
  const metadata = new Metadata();
  metadata.set('retry-after', String(retryAfter));
  return new RpcException({ code, message: error.message, metadata });
}
