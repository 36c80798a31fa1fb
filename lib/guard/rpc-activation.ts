import { BadRequestException, type ExecutionContext } from '@nestjs/common';
import type { SessionTelemetry } from '../core/session-telemetry.js';
import { isUndecodableMessage } from '../protocol/grpc/message-bytes.js';
import { describeContext, readGrpcCall, type GrpcMetadataLike } from './grpc-call.js';
import { CallTrailers, grpcRefusal } from './grpc-refusal.js';
import type { GuardSteps } from './guard-steps.js';
import { GuardMessages } from './guard.messages.js';
import { refusalReasonOf } from './refusal-reasons.js';

/**
 * `SessionGuard` on an `rpc` context: a gRPC call is checked (an undecodable message is refused
 * even on a skipped route); any other transport is refused with an error naming it.
 *
 * @param context the handler's execution context, of type `rpc`
 * @param telemetry counts the refusal of an undecodable message
 * @param steps the guard's `isSkipped` and `authenticateCall`
 * @returns `true` once the call passed or its route is skipped
 * @throws an `RpcException`: INVALID_ARGUMENT for an undecodable message, else as
 *   `authenticateCall`
 * @throws {Error} on a transport other than gRPC, unless the route is skipped
 * @example
 * ```ts
 * if (context.getType() === 'rpc') return activateCall(context, this.telemetry, this.steps);
 * ```
 */
export async function activateCall(
  context: ExecutionContext,
  telemetry: SessionTelemetry,
  steps: GuardSteps,
): Promise<boolean> {
  const call = readGrpcCall(context);
  if (call === undefined) {
    if (steps.isSkipped(context)) return true;
    throw unsupportedContext(context);
  }
  if (isUndecodableMessage(call.message)) throw await undecodableCall(telemetry, call.metadata);
  if (!steps.isSkipped(context)) await steps.authenticateCall(call);
  return true;
}

/**
 * The error for a handler that is neither an HTTP route nor a gRPC method: its payload is not a
 * request, and the guard neither reads nor writes it.
 *
 * @param context the handler's execution context
 * @returns the error to throw, naming the context
 * @example
 * ```ts
 * if (type !== 'http') return Promise.reject(unsupportedContext(context));
 * ```
 */
export function unsupportedContext(context: ExecutionContext): Error {
  return new Error(GuardMessages.unsupportedContext(describeContext(context)));
}

/**
 * Counts the refusal of a gRPC call whose message could not be decoded, and builds its
 * INVALID_ARGUMENT status.
 */
function undecodableCall(telemetry: SessionTelemetry, metadata: GrpcMetadataLike): Promise<Error> {
  const refusal = new BadRequestException(GuardMessages.messageUndecodable());
  telemetry.guardRefused('grpc', telemetry.startGuardCheck(), refusalReasonOf(refusal));
  return grpcRefusal(refusal, new CallTrailers(), metadata);
}
