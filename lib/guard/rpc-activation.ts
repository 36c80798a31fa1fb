import { BadRequestException, type ExecutionContext } from '@nestjs/common';
import type { Session } from '../core/session.interface.js';
import type { SessionTelemetry } from '../core/session-telemetry.js';
import { isUndecodableMessage } from '../protocol/grpc/message-bytes.js';
import { describeContext, readGrpcCall, type GrpcMetadataLike } from './grpc-call.js';
import { callRefused } from './check-outcomes.js';
import { CallTrailers } from './grpc-refusal.js';
import type { GuardSteps } from './guard-steps.js';
import { allowed, isPending } from './pending.js';
import { GuardMessages } from './guard.messages.js';

/**
 * `SessionGuard` on an `rpc` context: a gRPC call is checked (an undecodable message is refused
 * even on a skipped route); any other transport is refused with an error naming it.
 *
 * @param context the handler's execution context, of type `rpc`
 * @param telemetry counts the refusal of an undecodable message
 * @param steps the guard's `isSkipped` and `checkCall`
 * @returns `true` once the call passed or its route is skipped: at once when the check needed no
 *   Promise, else a Promise of it
 * @throws an `RpcException`: INVALID_ARGUMENT for an undecodable message, else as
 *   `authenticateCall` (always as a rejected Promise)
 * @throws {Error} on a transport other than gRPC, unless the route is skipped
 * @example
 * ```ts
 * if (context.getType() === 'rpc') return activateCall(context, this.telemetry, this.steps);
 * ```
 */
export function activateCall(
  context: ExecutionContext,
  telemetry: SessionTelemetry,
  steps: GuardSteps,
): boolean | Promise<boolean> {
  let checked: Session | Promise<Session>;
  try {
    const call = readGrpcCall(context);
    if (call === undefined) {
      if (steps.isSkipped(context)) return true;
      return Promise.reject(unsupportedContext(context));
    }
    if (isUndecodableMessage(call.message)) return refuseUndecodable(telemetry, call.metadata);
    if (steps.isSkipped(context)) return true;
    checked = steps.checkCall(call);
  } catch (error) {
    return Promise.reject(error as Error);
  }
  return isPending(checked) ? checked.then(allowed) : true;
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
 * Refuses a gRPC call whose message could not be decoded: counted, and rejected with its
 * INVALID_ARGUMENT status.
 */
function refuseUndecodable(
  telemetry: SessionTelemetry,
  metadata: GrpcMetadataLike,
): Promise<never> {
  const refusal = new BadRequestException(GuardMessages.messageUndecodable());
  return callRefused(telemetry, telemetry.startGuardCheck(), refusal, new CallTrailers(), metadata);
}
