import type { Session } from '../core/session.interface.js';

/**
 * The key under which `SessionGuard` keeps the session it checked: a property of the Fastify
 * request object, or of the Express response's `locals`, under this module's own symbol, which
 * no request data can name.
 *
 * - Fastify builds every request object with one constructor, so the property adds the same step
 *   to each object's shape. A weak map there, gaining an entry per request, cost the server
 *   about 7 µs of CPU per request at 20,000 requests per second, against about 1.3 µs for the
 *   check itself.
 * - Express replaces each request's prototype, and a property added to such an object after
 *   that made the rest of the request's handling about 10–20 µs slower on Node.js 20. Express
 *   links every request to its response (`req.res`) and gives each response a `locals` object
 *   of its own, in dictionary mode from the start: a property there changes no object's shape,
 *   and costs less than a weak map's entry (whose table the garbage collector also walks).
 */
const SESSION = Symbol('meshSession');

/** Where the session is kept for any other request (neither platform's): keyed by the object. */
const SESSIONS = new WeakMap<object, Session>();

type SessionHolder = { [SESSION]?: Session };

/**
 * The object that holds the session for a request: Express's `res.locals`, checked first (an
 * own property of Express's request, absent from Fastify's, which looks it up cheaply); else
 * Fastify's request itself (it wraps Node's request in `raw`); else none.
 */
function holderOf(request: object): SessionHolder | undefined {
  const response = (request as { res?: unknown }).res;
  if (typeof response === 'object' && response !== null) {
    const locals = (response as { locals?: unknown }).locals;
    if (typeof locals === 'object' && locals !== null) return locals as SessionHolder;
  }
  const raw = (request as { raw?: unknown }).raw;
  return typeof raw === 'object' && raw !== null ? (request as SessionHolder) : undefined;
}

/**
 * The session `SessionGuard` checked for an HTTP request. Only the guard writes it, so a
 * session found also means the guard checked that request: no other code, and nothing a client
 * sends, can mark a request as checked.
 *
 * @param request the Express or Fastify request
 * @returns the session, or `undefined` when the guard did not check this request
 */
export function sessionOfRequest(request: unknown): Session | undefined {
  if (typeof request !== 'object' || request === null) return undefined;
  const holder = holderOf(request);
  return holder === undefined ? SESSIONS.get(request) : holder[SESSION];
}

/**
 * Records the session checked for an HTTP request.
 *
 * @param request the Express or Fastify request
 * @param session the session
 */
export function setSessionOfRequest(request: object, session: Session): void {
  const holder = holderOf(request);
  if (holder === undefined) SESSIONS.set(request, session);
  else holder[SESSION] = session;
}
