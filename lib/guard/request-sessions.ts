import type { Session } from '../core/session.interface.js';

/**
 * Where `SessionGuard` keeps the session it checked for an HTTP request: a map keyed by the
 * request object, never a property of it. Express replaces each request's prototype, and a
 * property added to such an object after that made the rest of the request's handling about
 * 20 µs slower on Node.js 20 (an Express request costs about 190 µs). Only the guard writes to
 * the map, so a session in it also means the guard checked that request: no other code can mark
 * a request as checked.
 */
const SESSIONS = new WeakMap<object, Session>();

/**
 * The session `SessionGuard` checked for an HTTP request.
 *
 * @param request the Express or Fastify request
 * @returns the session, or `undefined` when the guard did not check this request
 */
export function sessionOfRequest(request: unknown): Session | undefined {
  return typeof request === 'object' && request !== null ? SESSIONS.get(request) : undefined;
}

/**
 * Records the session checked for an HTTP request.
 *
 * @param request the Express or Fastify request
 * @param session the session
 */
export function setSessionOfRequest(request: object, session: Session): void {
  SESSIONS.set(request, session);
}
