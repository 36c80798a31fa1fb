import { GRPC_STATUS } from '../protocol/grpc/grpc-status.js';
import type { MeshHandshakeFailure } from './mesh-client.errors.js';

export { GRPC_STATUS };

const NAMES = new Map<number, string>(
  Object.entries(GRPC_STATUS).map(([name, code]) => [code, name]),
);

/** A call's end as grpc-js reports it: its `ServiceError`. */
export interface GrpcStatusLike {
  code: number;
  details: string;
  metadata?: { getMap(): Record<string, string | Buffer> };
}

/**
 * The name of a gRPC status code.
 *
 * @param code the status code
 * @returns such as `UNAUTHENTICATED`, or `status 42` for a code outside the specification
 * @example
 * ```ts
 * grpcStatusName(16); // 'UNAUTHENTICATED'
 * ```
 */
export function grpcStatusName(code: number): string {
  return NAMES.get(code) ?? `status ${code}`;
}

/**
 * Whether what a gRPC call rejected with is a status (grpc-js's `ServiceError`).
 *
 * @param error what the call rejected with
 * @returns `true` when it has a numeric `code`
 */
export function isGrpcStatus(error: unknown): error is GrpcStatusLike {
  return (
    typeof error === 'object' &&
    error !== null &&
    typeof (error as GrpcStatusLike).code === 'number' &&
    typeof (error as GrpcStatusLike).details === 'string'
  );
}

/**
 * A status's trailing metadata as strings; binary (`-bin`) values in base64.
 *
 * @param status the call's end
 * @returns the entries by key
 */
export function trailersOf(status: GrpcStatusLike): Record<string, string> {
  const entries: Record<string, string> = {};
  for (const [key, value] of Object.entries(status.metadata?.getMap() ?? {})) {
    entries[key] = typeof value === 'string' ? value : value.toString('base64');
  }
  return entries;
}

/**
 * What a refused handshake's gRPC status says about the refusal, as its HTTP status would.
 *
 * @param code the status the `Open` call ended with
 * @returns `rejected`, `rate_limited`, `unavailable`, `timeout` or `grpc`
 * @example
 * ```ts
 * grpcHandshakeFailureOf(8); // 'rate_limited'
 * ```
 */
export function grpcHandshakeFailureOf(code: number): MeshHandshakeFailure {
  switch (code) {
    case GRPC_STATUS.UNAUTHENTICATED:
      return 'rejected';
    case GRPC_STATUS.RESOURCE_EXHAUSTED:
      return 'rate_limited';
    case GRPC_STATUS.UNAVAILABLE:
      return 'unavailable';
    case GRPC_STATUS.DEADLINE_EXCEEDED:
      return 'timeout';
    default:
      return 'grpc';
  }
}
