import { redactDumps } from '../core/redacted.js';
import { SessionMessages } from '../core/session.messages.js';
import { ClientHandshake, type ClientSession } from '../protocol/handshake/client-handshake.js';
import { HANDSHAKE_CONTENT_TYPE } from '../protocol/handshake/handshake.constants.js';
import { HandshakeError } from '../protocol/handshake/handshake.error.js';
import { signRequest } from '../protocol/signing/request-signer.js';
import { clientVersion } from './client-version.js';
import {
  handshakeFailureOf,
  MeshHandshakeError,
  MeshRequestError,
  type MeshHandshakeFailure,
} from './mesh-client.errors.js';
import { MeshClientMessages } from './mesh-client.messages.js';
import type {
  ResolvedMeshClientOptions,
  ResolvedMeshServiceOptions,
} from './mesh-client.options.js';
import { prepareRequest, type MeshRequestInit, type PreparedRequest } from './mesh-request.js';
import { createMeshResponse, errorBody, messageOf, type MeshResponse } from './mesh-response.js';
import { transportFailure } from './transport-failure.js';

export type { MeshRequestInit } from './mesh-request.js';
export type { MeshResponse } from './mesh-response.js';

const NOT_FOUND_MESSAGE = SessionMessages.sessionNotFound();

/**
 * A connection to one service: it handshakes lazily on first use (concurrent first calls share
 * one handshake), signs every request with the session key, and, when the server answers 401
 * because the session expired or is unknown, handshakes again once and retries. That retry is
 * safe because the server's guard refuses before any handler runs.
 *
 * Get one from `MeshClient.connect(serviceId)`. `util.inspect`, `console.log`, Nest's `Logger`
 * and `JSON.stringify` show no key.
 *
 * @example
 * ```ts
 * const greeter = client.connect('greeter');
 * const { message } = await greeter.call<{ message: string }>('greet', { name: 'World' });
 * const res = await greeter.request({ method: 'GET', path: '/health' });
 * ```
 */
export class MeshConnection {
  #session: ClientSession | undefined;
  #pending: Promise<ClientSession> | undefined;
  /** The client's options, private key included: a private field, which no generic dump sees. */
  readonly #options: ResolvedMeshClientOptions;

  /**
   * @param options the client's resolved options
   * @param service the service to talk to
   */
  constructor(
    options: ResolvedMeshClientOptions,
    protected readonly service: ResolvedMeshServiceOptions,
  ) {
    this.#options = options;
  }

  /** The client's resolved options. */
  protected get options(): ResolvedMeshClientOptions {
    return this.#options;
  }

  static {
    // Keeps the private identity key and the session key out of `console.log` and the logs.
    redactDumps(this, (self) => ({
      serviceId: self.service.id,
      connected: self.#session !== undefined,
    }));
  }

  /** The remote service's id. */
  get serviceId(): string {
    return this.service.id;
  }

  /** The current session's id, or `undefined` before the first handshake. */
  get sessionId(): string | undefined {
    return this.#session?.sessionId;
  }

  /** When the current session expires unless used, as the server said at the handshake. */
  get expiresAt(): number | undefined {
    return this.#session?.expiresAt;
  }

  /**
   * Calls a method of the service: `POST <url>/<method>` with `data` as JSON.
   *
   * @param method the route below the service URL, such as `greet` or `orders/create`
   * @param data the JSON body
   * @returns the parsed JSON answer (`undefined` for an empty one)
   * @throws {TypeError} when `method` is empty
   * @throws {MeshHandshakeError} when the handshake fails
   * @throws {MeshRequestError} for a non-2xx answer, a timeout or a network error
   */
  async call<T = unknown>(method: string, data: unknown = {}): Promise<T> {
    if (typeof method !== 'string' || method.length === 0) {
      throw new TypeError(SessionMessages.invalidArgument('method', 'a route name', method));
    }
    const path = `/${method.replace(/^\/+/, '').split('/').map(encodeURIComponent).join('/')}`;
    const response = await this.request({ method: 'POST', path, body: data });
    return response.json<T>();
  }

  /**
   * Sends any signed request to the service.
   *
   * @param init method, path, headers and body
   * @returns the answer, when 2xx
   * @throws {TypeError} when `init.path` is missing, or a GET or HEAD has a body
   * @throws {MeshHandshakeError} when the handshake fails
   * @throws {MeshRequestError} for a non-2xx answer, a timeout or a network error
   */
  async request(init: MeshRequestInit): Promise<MeshResponse> {
    const prepared = prepareRequest(this.service.url, init);
    for (let attempt = 0; ; attempt++) {
      const session = await this.open();
      const response = await this.send(prepared, session);
      if (response.status >= 200 && response.status < 300) return response;
      const body = errorBody(response);
      if (attempt === 0 && response.status === 401 && messageOf(body) === NOT_FOUND_MESSAGE) {
        this.forget(session);
        continue;
      }
      throw this.httpError(prepared, response.status, body, messageOf(body));
    }
  }

  /**
   * Handshakes now unless a session is already open (or opening).
   *
   * @throws {MeshHandshakeError} when the handshake fails
   */
  async connect(): Promise<void> {
    await this.open();
  }

  /**
   * Ends the session on the server (a signed `DELETE` on the handshake path) and forgets it.
   *
   * @returns whether the server ended a session; `false` when there was none
   * @throws {MeshRequestError} when the server cannot be reached or answers an error; the
   *   session is forgotten locally all the same
   */
  async disconnect(): Promise<boolean> {
    const session = (await this.#pending?.catch(() => undefined)) ?? this.#session;
    if (session === undefined) return false;
    this.forget(session);
    const prepared = prepareRequest(this.service.url, {
      method: 'DELETE',
      path: this.service.handshakePath,
    });
    try {
      const response = await this.send(prepared, session);
      if (response.status === 401) return false;
      if (response.status < 200 || response.status >= 300) {
        throw this.httpError(prepared, response.status, errorBody(response));
      }
      return true;
    } finally {
      session.key.fill(0);
    }
  }

  /** The live session, after a handshake if needed; concurrent callers share one handshake. */
  protected open(): Promise<ClientSession> {
    if (this.#session !== undefined) return Promise.resolve(this.#session);
    this.#pending ??= this.handshake().then(
      (session) => {
        this.#pending = undefined;
        this.#session = session;
        return session;
      },
      (error: unknown) => {
        this.#pending = undefined;
        throw error;
      },
    );
    return this.#pending;
  }

  /** Drops a session the server no longer knows, unless another call replaced it already. */
  protected forget(session: ClientSession): void {
    if (this.#session === session) this.#session = undefined;
  }

  /** One handshake: sends the signed hello, then checks the signed reply and derives the key. */
  protected async handshake(): Promise<ClientSession> {
    const handshake = new ClientHandshake({
      clientId: this.#options.serviceId,
      serverId: this.service.id,
      identityKey: this.#options.privateKey,
      clientVersion: clientVersion(),
    });
    const { status, text } = await this.postHello(handshake.body());
    if (status !== 201 && status !== 200) {
      throw this.handshakeError(
        handshakeFailureOf(status),
        MeshClientMessages.clientHttpStatus(status),
        status,
      );
    }
    try {
      return handshake.complete(text, this.service.publicKeys);
    } catch (error) {
      if (!(error instanceof HandshakeError)) throw error;
      throw this.handshakeError('invalid_reply', error.reason, status);
    }
  }

  /** Posts the hello and reads the whole answer, whatever its status. */
  protected async postHello(body: string): Promise<{ status: number; text: string }> {
    try {
      const response = await this.fetch(new URL(this.service.url + this.service.handshakePath), {
        method: 'POST',
        headers: { 'content-type': HANDSHAKE_CONTENT_TYPE, accept: 'application/json' },
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(this.#options.timeout),
      });
      return { status: response.status, text: await response.text() };
    } catch (error) {
      const failure = transportFailure(error, this.#options.timeout);
      throw this.handshakeError(failure.reason, failure.text, undefined, { cause: error });
    }
  }

  /** Signs and sends one attempt. */
  protected async send(request: PreparedRequest, session: ClientSession): Promise<MeshResponse> {
    const signature = signRequest({
      method: request.method,
      url: request.url,
      body: request.body,
      sessionId: session.sessionId,
      sessionKey: session.key,
    });
    try {
      const response = await this.fetch(request.url, {
        method: request.method,
        headers: { ...request.headers, ...signature },
        body: request.body,
        redirect: 'manual',
        signal: AbortSignal.timeout(this.#options.timeout),
      });
      const body = Buffer.from(await response.arrayBuffer());
      return createMeshResponse(this.service.id, request, response.status, response.headers, body);
    } catch (error) {
      const failure = transportFailure(error, this.#options.timeout);
      throw new MeshRequestError(
        this.service.id,
        failure.reason,
        MeshClientMessages.clientRequestFailed(
          this.service.id,
          request.method,
          request.path,
          failure.text,
        ),
        { method: request.method, path: request.path },
        { cause: error },
      );
    }
  }

  private fetch(url: URL, init: RequestInit): Promise<Response> {
    return (this.#options.fetch ?? globalThis.fetch)(url, init);
  }

  private handshakeError(
    reason: MeshHandshakeFailure,
    why: string,
    status?: number,
    options?: { cause?: unknown },
  ): MeshHandshakeError {
    const serviceId = this.service.id;
    const message = MeshClientMessages.clientHandshakeFailed(serviceId, why);
    return new MeshHandshakeError(serviceId, reason, message, status, options);
  }

  private httpError(
    request: PreparedRequest,
    status: number,
    body: unknown,
    message?: string,
  ): MeshRequestError {
    const { method, path } = request;
    return new MeshRequestError(
      this.service.id,
      'http',
      MeshClientMessages.clientRequestFailed(
        this.service.id,
        method,
        path,
        MeshClientMessages.clientHttpStatus(status, message),
      ),
      { method, path, status, body },
    );
  }
}
