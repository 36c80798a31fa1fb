import type { INestApplicationContext } from '@nestjs/common';
import { redactDumps } from '../core/redacted.js';
import { generateSessionKey } from '../core/session-key.js';
import { SessionManager } from '../core/session-manager.js';
import { DEFAULT_SESSION_HEADER } from '../guard/session-guard.constants.js';
import { SESSION_GUARD_OPTIONS, type SessionGuardOptions } from '../guard/session-guard.options.js';
import { signRequest, type SignedRequestHeaders } from '../protocol/signing/request-signer.js';
import { fetchBodyBytes } from './fetch-body.js';
import { signWhenSent, type SignableTest } from './supertest-signing.js';
import { TestingMessages } from './testing.messages.js';

/**
 * Where {@link MeshTestingPeer.open} finds the `SessionManager`: a Nest app
 * (`INestApplication`), a `TestingModule`, or any other application context.
 *
 * @example
 * ```ts
 * const target: MeshTestingApp = await Test.createTestingModule({ imports: [AppModule] }).compile();
 * ```
 */
export type MeshTestingApp = Pick<INestApplicationContext, 'get'>;

/**
 * Options of {@link MeshTestingPeer.open}.
 *
 * @example
 * ```ts
 * await MeshTestingPeer.open(app, 'billing', { metadata: { region: 'eu' } });
 * ```
 */
export interface MeshTestingPeerOptions {
  /** The session's metadata: a plain JSON object, as `createSession` takes. */
  metadata?: Record<string, unknown>;
  /**
   * The header `headers()` sets.
   *
   * @default the app's `sessionHeader` option; `'x-mesh-session-id'` given a `SessionManager`
   */
  sessionHeader?: string;
}

/**
 * A request to sign, as {@link MeshTestingPeer.signedHeaders} takes it.
 *
 * @example
 * ```ts
 * const toSign: MeshTestingRequest = { method: 'POST', url: `${url}/greet`, body: '{"name":"Ada"}' };
 * ```
 */
export interface MeshTestingRequest {
  /** The method, such as `'POST'`. */
  method: string;
  /** The full URL the request goes to, host and port included. */
  url: string | URL;
  /** The exact body bytes (a string is sent as UTF-8); omit for none. */
  body?: string | Uint8Array;
}

/**
 * A fake peer service for your own e2e tests: it opens a session on the app under test, as the
 * handshake would for a trusted caller, and then authenticates requests with it in one call,
 * `headers()` in session-id mode, or `sign()` (supertest) and `signFetch()` / `fetch()` in
 * signature mode, with the library's own signer. Signature mode needs the app created with
 * `rawBody: true`, as in production.
 *
 * Its session key stays in private fields: `console.log(peer)` shows only its service id.
 *
 * @example
 * ```ts
 * import { Test } from '@nestjs/testing';
 * import request from 'supertest';
 * import { MeshTestingPeer } from 'nestjs-mesh-session/testing';
 *
 * const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
 * const app = moduleRef.createNestApplication({ rawBody: true });
 * await app.init();
 *
 * const billing = await MeshTestingPeer.open(app, 'billing');
 * // Session-id mode:
 * await request(app.getHttpServer()).get('/orders').set(billing.headers()).expect(200);
 * // Signature mode:
 * await billing.sign(request(app.getHttpServer()).post('/orders').send({ id: 1 })).expect(201);
 * ```
 */
export class MeshTestingPeer {
  readonly #sessions: SessionManager;
  readonly #sessionId: string;
  readonly #sessionKey: Buffer;

  private constructor(
    sessions: SessionManager,
    /** The peer's service id: the session's `serviceId`. */
    readonly serviceId: string,
    sessionId: string,
    sessionKey: Buffer,
    /** The header `headers()` sets, lower case. */
    readonly sessionHeader: string,
  ) {
    this.#sessions = sessions;
    this.#sessionId = sessionId;
    this.#sessionKey = sessionKey;
  }

  /**
   * Opens a session for a peer service on the app's `SessionManager`, with a fresh key.
   *
   * @param target the app or testing module (once compiled), or a `SessionManager`
   * @param serviceId the peer's service id, as `@CurrentSession()` will see it
   * @param options the session's metadata, and the header to use
   * @returns the peer, with its session open
   * @throws {TypeError} when `target` provides no `SessionManager` (import `MeshSessionModule`)
   *   or `serviceId` is not a service id
   * @example
   * ```ts
   * const billing = await MeshTestingPeer.open(app, 'billing');
   * ```
   */
  static async open(
    target: MeshTestingApp | SessionManager,
    serviceId: string,
    options: MeshTestingPeerOptions = {},
  ): Promise<MeshTestingPeer> {
    const sessions = target instanceof SessionManager ? target : sessionManagerOf(target);
    const header =
      options.sessionHeader ??
      (target instanceof SessionManager ? DEFAULT_SESSION_HEADER : sessionHeaderOf(target));
    const key = generateSessionKey();
    const session = await sessions.createSession(serviceId, key, options.metadata);
    return new MeshTestingPeer(sessions, serviceId, session.id, key, header.toLowerCase());
  }

  /**
   * The session id: the value of the session header, and the signatures' `keyid`.
   *
   * @example
   * ```ts
   * await sessions.invalidateSession(peer.sessionId);
   * ```
   */
  get sessionId(): string {
    return this.#sessionId;
  }

  /**
   * The header a session-id-mode request carries.
   *
   * @returns such as `{ 'x-mesh-session-id': '6f1c…' }`
   * @example
   * ```ts
   * await request(app.getHttpServer()).get('/orders').set(peer.headers()).expect(200);
   * await fetch(`${url}/orders`, { headers: peer.headers() });
   * ```
   */
  headers(): Record<string, string> {
    return { [this.sessionHeader]: this.#sessionId };
  }

  /**
   * The signature headers of one request (signature mode), for a client other than supertest
   * or `fetch`.
   *
   * @param request the method, full URL and exact body
   * @returns `signature-input`, `signature` and, with a body, `content-digest`
   * @throws {TypeError} when the URL cannot be parsed
   * @example
   * ```ts
   * const headers = peer.signedHeaders({ method: 'POST', url: `${url}/greet`, body: json });
   * ```
   */
  signedHeaders(request: MeshTestingRequest): SignedRequestHeaders {
    const { body } = request;
    return signRequest({
      method: request.method,
      url: request.url,
      body: typeof body === 'string' ? Buffer.from(body, 'utf8') : body,
      sessionId: this.#sessionId,
      sessionKey: this.#sessionKey,
    });
  }

  /**
   * Signs a supertest request (signature mode). It is signed when it is sent, so `.send()`,
   * `.query()` and `.set()` may come before or after: the method, the final URL and the exact
   * body bytes are covered. An object body is sent as JSON; a string or Buffer as it is.
   *
   * @param test a supertest request, such as `request(app.getHttpServer()).post('/greet')`
   * @returns the same request, to chain `.expect()` or to await
   * @example
   * ```ts
   * const res = await peer.sign(request(app.getHttpServer()).post('/greet').send({ name: 'Ada' }));
   * expect(res.status).toBe(200);
   * ```
   */
  sign<T extends SignableTest>(test: T): T {
    return signWhenSent(test, (request) => this.signedHeaders(request));
  }

  /**
   * Signs a `fetch` request (signature mode): the same init, with the signature headers added.
   *
   * @param url the full URL, such as `${await app.getUrl()}/greet`
   * @param init the request; its body must be a string, a Buffer or other Uint8Array, an
   *   ArrayBuffer or URLSearchParams, so that it can be signed before it is sent
   * @returns the init to pass to `fetch` with the same URL
   * @throws {TypeError} for a body that cannot be signed in advance (a stream, Blob, FormData)
   * @example
   * ```ts
   * const init = peer.signFetch(url, { method: 'POST', body: JSON.stringify({ name: 'Ada' }),
   *   headers: { 'content-type': 'application/json' } });
   * const res = await fetch(url, init);
   * ```
   */
  signFetch(url: string | URL, init: RequestInit = {}): RequestInit {
    const signed = this.signedHeaders({
      method: (init.method ?? 'GET').toUpperCase(),
      url,
      body: fetchBodyBytes(init.body),
    });
    const headers = new Headers(init.headers);
    for (const [name, value] of Object.entries(signed)) {
      if (value !== undefined) headers.set(name, value);
    }
    return { ...init, headers };
  }

  /**
   * Sends a signed request with the global `fetch` (signature mode).
   *
   * @param url the full URL
   * @param init the request, as {@link MeshTestingPeer.signFetch} takes it
   * @returns the response
   * @example
   * ```ts
   * const res = await peer.fetch(`${await app.getUrl()}/whoami`);
   * ```
   */
  fetch(url: string | URL, init?: RequestInit): Promise<Response> {
    return globalThis.fetch(url, this.signFetch(url, init));
  }

  /**
   * Ends the session, as the peer's `DELETE` on the handshake path would: later requests get
   * 401.
   *
   * @returns whether the session was still there
   * @example
   * ```ts
   * await peer.close();
   * ```
   */
  close(): Promise<boolean> {
    return this.#sessions.invalidateSession(this.#sessionId);
  }

  static {
    redactDumps(this, (peer) => ({ serviceId: peer.serviceId }));
  }
}

/** The app's `SessionManager`, wherever the module put it. */
function sessionManagerOf(app: MeshTestingApp): SessionManager {
  if (app === null || typeof app !== 'object' || typeof app.get !== 'function') {
    throw new TypeError(TestingMessages.peerTargetNeeded(app));
  }
  try {
    return app.get(SessionManager, { strict: false });
  } catch (error) {
    throw new TypeError(TestingMessages.noSessionManager(), { cause: error });
  }
}

/** The header the app's guard reads, or the default when the app has no guard options. */
function sessionHeaderOf(app: MeshTestingApp): string {
  try {
    return app.get<SessionGuardOptions>(SESSION_GUARD_OPTIONS, { strict: false }).sessionHeader;
  } catch {
    return DEFAULT_SESSION_HEADER;
  }
}
