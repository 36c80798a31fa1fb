import { HttpException } from '@nestjs/common';
import type { Session } from '../core/session.interface.js';
import type { SessionTelemetry } from '../core/session-telemetry.js';
import { setSessionOfCall } from './call-sessions.js';
import type { GrpcCall, GrpcMetadataLike } from './grpc-call.js';
import { grpcRefusal, type CallTrailers } from './grpc-refusal.js';
import { refusalReasonOf } from './refusal-reasons.js';
import { setSessionOfRequest } from './request-sessions.js';
import type { SessionGuardRequest } from './session-guard-request.js';

// How a check of `SessionGuard` ends, on either transport: counted and timed
// (`mesh_session.guard.*`), and its session kept beside the request or the call for
// `@CurrentSession()`. Direct calls on the allowed path: they allocate nothing of their own.

/**
 * Counts an allowed request and keeps its session beside it for `@CurrentSession()`.
 *
 * @param telemetry counts and times the check
 * @param request the Express or Fastify request
 * @param started what `telemetry.startGuardCheck()` returned
 * @param session the checked session
 * @returns the session
 * @example
 * ```ts
 * return allowRequest(telemetry, request, started, session);
 * ```
 */
export function allowRequest(
  telemetry: SessionTelemetry,
  request: SessionGuardRequest,
  started: number,
  session: Session,
): Session {
  telemetry.guardAllowed('http', started, session.serviceId);
  setSessionOfRequest(request, session);
  return session;
}

/**
 * Counts a refused request.
 *
 * @param telemetry counts and times the check
 * @param started what `telemetry.startGuardCheck()` returned
 * @param error what the check threw
 * @returns the error to throw
 * @example
 * ```ts
 * throw requestRefused(telemetry, started, error);
 * ```
 */
export function requestRefused(
  telemetry: SessionTelemetry,
  started: number,
  error: unknown,
): unknown {
  if (telemetry.enabled) telemetry.guardRefused('http', started, refusalReasonOf(error));
  return error;
}

/**
 * Counts an allowed gRPC call and keeps its session with the server call for
 * `@CurrentSession()`; the message is neither changed nor written to.
 *
 * @param telemetry counts and times the check
 * @param call the checked call
 * @param started what `telemetry.startGuardCheck()` returned
 * @param session the checked session
 * @returns the session
 * @example
 * ```ts
 * return allowCall(telemetry, call, started, session);
 * ```
 */
export function allowCall(
  telemetry: SessionTelemetry,
  call: GrpcCall,
  started: number,
  session: Session,
): Session {
  telemetry.guardAllowed('grpc', started, session.serviceId);
  setSessionOfCall(call.call, session);
  return session;
}

/**
 * Refuses a gRPC call: counted, and an HTTP refusal turned into its gRPC status with the
 * collected trailers; any other error is rejected with as it is.
 *
 * @param telemetry counts and times the check
 * @param started what `telemetry.startGuardCheck()` returned
 * @param error what the check threw
 * @param trailers the headers the check wrote, sent as trailing metadata
 * @param metadata the call's metadata
 * @returns a Promise rejected with the error to answer
 * @throws an `RpcException` for an HTTP refusal, else `error` itself
 * @throws {Error} when `@nestjs/microservices` cannot be loaded to answer the refusal
 * @example
 * ```ts
 * return callRefused(telemetry, started, error, trailers, call.metadata);
 * ```
 */
export async function callRefused(
  telemetry: SessionTelemetry,
  started: number,
  error: unknown,
  trailers: CallTrailers,
  metadata: GrpcMetadataLike,
): Promise<never> {
  if (telemetry.enabled) telemetry.guardRefused('grpc', started, refusalReasonOf(error));
  throw error instanceof HttpException ? await grpcRefusal(error, trailers, metadata) : error;
}
