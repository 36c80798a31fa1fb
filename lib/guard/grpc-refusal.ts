import { HttpStatus, type HttpException } from '@nestjs/common';
import type { GrpcMetadataLike } from './grpc-call.js';
import type { SessionGuardResponse } from './session-guard-request.js';
import { GuardMessages } from './guard.messages.js';

/** gRPC status codes the guard answers with (fixed by the gRPC specification). */
export const GrpcStatus = Object.freeze({
  INVALID_ARGUMENT: 3,
  RESOURCE_EXHAUSTED: 8,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
});

const STATUS_OF_HTTP: Readonly<Record<number, number>> = {
  [HttpStatus.BAD_REQUEST]: GrpcStatus.INVALID_ARGUMENT,
  [HttpStatus.UNAUTHORIZED]: GrpcStatus.UNAUTHENTICATED,
  [HttpStatus.TOO_MANY_REQUESTS]: GrpcStatus.RESOURCE_EXHAUSTED,
  [HttpStatus.SERVICE_UNAVAILABLE]: GrpcStatus.UNAVAILABLE,
};

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
  const code = STATUS_OF_HTTP[exception.getStatus()];
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
