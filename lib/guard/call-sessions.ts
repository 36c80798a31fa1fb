import type { Session } from '../core/session.interface.js';

/**
 * The session `SessionGuard` checked for each gRPC call, by server call object: the message is
 * the caller's payload and is never written to. Held weakly, so it goes with the call.
 */
const sessions = new WeakMap<object, Session>();

/**
 * The session checked for a gRPC call.
 *
 * @param call the grpc-js server call (a `@GrpcMethod` handler's third argument)
 * @returns the session, or `undefined` when the guard did not check this call
 */
export function sessionOfCall(call: unknown): Session | undefined {
  return typeof call === 'object' && call !== null ? sessions.get(call) : undefined;
}

/**
 * Records the session checked for a gRPC call.
 *
 * @param call the grpc-js server call
 * @param session the session
 */
export function setSessionOfCall(call: object, session: Session): void {
  sessions.set(call, session);
}
