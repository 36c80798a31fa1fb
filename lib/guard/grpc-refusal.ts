import { HttpStatus, type HttpException } from '@nestjs/common';
import type { GrpcMetadataLike } from './grpc-call.js';
import type { SessionGuardResponse } from './session-guard-request.js';
import { GuardMessages } from './guard.messages.js';
import { GRPC_STATUS } from '../protocol/grpc/grpc-status.js';

/**
 * The gRPC status of each refusal the guard and the handshake endpoint answer over HTTP: the
 * same refusal, whichever transport carries it.
 */
export const GRPC_STATUS_OF_HTTP: Readonly<Record<number, number>> = Object.freeze({
  [HttpStatus.BAD_REQUEST]: GRPC_STATUS.INVALID_ARGUMENT,
  [HttpStatus.UNAUTHORIZED]: GRPC_STATUS.UNAUTHENTICATED,
  [HttpStatus.TOO_MANY_REQUESTS]: GRPC_STATUS.RESOURCE_EXHAUSTED,
  [HttpStatus.SERVICE_UNAVAILABLE]: GRPC_STATUS.UNAVAILABLE,
});

type RpcExceptionClass = new (error: object) => Error;
let rpcException: Promise<RpcExceptionClass> | undefined;

/**
 * Collects what the HTTP path writes as response headers (`Retry-After`, `RateLimit-*`), to
 * send as the refusal's trailing metadata, with lower-case keys as gRPC requires.
 */
export class CallTrailers implements SessionGuardResponse {
  readonly entries = new Map<string, string>();

  header(name: string, value: string): this {
    this.entries.set(name.toLowerCase(), value);
    return this;
  }
}

/**
 * The gRPC form of one of the guard's HTTP refusals: an `RpcException` whose status Nest's RPC
 * exception filter hands to grpc-js, with the same message and the collected trailers.
 * `@nestjs/microservices` is loaded here, on the first refusal of a gRPC call: an app that
 * serves gRPC has it, and the root entry must load without it.
 *
 * @param exception the refusal as the HTTP path built it
 * @param trailers the headers collected for it
 * @param metadata the call's metadata, whose class builds the trailing metadata
 * @returns the error to throw from the guard
 */
export async function grpcRefusal(
  exception: HttpException,
  trailers: CallTrailers,
  metadata: GrpcMetadataLike,
): Promise<Error> {
  const code = GRPC_STATUS_OF_HTTP[exception.getStatus()];
  if (code === undefined) return exception;
  const Metadata = metadata.constructor as new () => GrpcMetadataLike;
  const trailing = new Metadata();
  for (const [key, value] of trailers.entries) trailing.set(key, value);
  const RpcException = await loadRpcException();
  return new RpcException({ code, message: exception.message, metadata: trailing });
}

function loadRpcException(): Promise<RpcExceptionClass> {
  rpcException ??= import('@nestjs/microservices').then(
    (microservices) => microservices.RpcException as unknown as RpcExceptionClass,
    (error: unknown) => {
      rpcException = undefined;
      throw new Error(GuardMessages.microservicesMissing(), { cause: error });
    },
  );
  return rpcException;
}
