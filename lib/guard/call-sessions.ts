import type { Session } from '../core/session.interface.js';

/**
 * Where `SessionGuard` keeps the session it checked for a gRPC call: a symbol-keyed property
 * of the grpc-js server call object, never of the message (the caller's payload). A property
 * rather than a WeakMap: a weak collection that gains an entry per call slows every garbage
 * collection.
 */
const SESSION = Symbol('meshSession');

/**
 * The session checked for a gRPC call.
 *
 * @param call the grpc-js server call (a `@GrpcMethod` handler's third argument)
 * @returns the session, or `undefined` when the guard did not check this call
 */
export function sessionOfCall(call: unknown): Session | undefined {
  return typeof call === 'object' && call !== null
    ? (call as { [SESSION]?: Session })[SESSION]
    : undefined;
}

/**
 * Records the session checked for a gRPC call.
 *
 * @param call the grpc-js server call
 * @param session the session
 */
export function setSessionOfCall(call: object, session: Session): void {
  (call as { [SESSION]?: Session })[SESSION] = session;
}
