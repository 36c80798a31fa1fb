import { SessionMessages } from '../core/session.messages.js';
import type { ClientHandshake, ClientSession } from '../protocol/handshake/client-handshake.js';
import { HANDSHAKE_CONTENT_TYPE } from '../protocol/handshake/handshake.constants.js';
import { signRequest } from '../protocol/signing/request-signer.js';
import { handshakeFailureOf, MeshRequestError } from './mesh-client.errors.js';
import { MeshClientMessages } from './mesh-client.messages.js';
import type { ResolvedHttpServiceOptions } from './mesh-client.options.js';
import { MeshConnection, type HelloReply } from './mesh-connection.js';
import { prepareRequest, type MeshRequestInit, type PreparedRequest } from './mesh-request.js';
import { createMeshResponse, errorBody, messageOf, type MeshResponse } from './mesh-response.js';
import { transportFailure } from './transport-failure.js';

const NOT_FOUND_MESSAGE = SessionMessages.sessionNotFound();

/**
 * A connection to a service over HTTP: the hello is `POST`ed to the handshake path, and every
 * request is signed (RFC 9421, `@method`, `@target-uri` and `content-digest`). A 401 'Session
 * not found or expired' makes it handshake again once and retry.
 *
 * @example
 * ```ts
 * const greeter = client.connect('greeter'); // { url, publicKey } in the options
 * const { message } = await greeter.call<{ message: string }>('greet', { name: 'World' });
 * ```
 */
export class HttpMeshConnection extends MeshConnection {
  declare protected readonly service: ResolvedHttpServiceOptions;

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
    return this.withSession(
      async (session) => {
        const response = await this.send(prepared, session);
        if (response.status >= 200 && response.status < 300) return response;
        const body = errorBody(response);
        throw this.httpError(prepared, response.status, body, messageOf(body));
      },
      (error) =>
        error instanceof MeshRequestError &&
        error.status === 401 &&
        messageOf(error.body) === NOT_FOUND_MESSAGE,
    );
  }

  /** Posts the hello and reads the whole answer; a status other than 200 or 201 is a refusal. */
  protected async sendHello(handshake: ClientHandshake): Promise<HelloReply> {
    let reply: HelloReply & { status: number };
    try {
      const headers: Record<string, string> = {
        'content-type': HANDSHAKE_CONTENT_TYPE,
        accept: 'application/json',
      };
      this.telemetry.current.injectTraceContext(headers);
      const response = await this.fetch(new URL(this.service.url + this.service.handshakePath), {
        method: 'POST',
        headers,
        body: handshake.body(),
        redirect: 'manual',
        signal: AbortSignal.timeout(this.options.timeout),
      });
      reply = { status: response.status, text: await response.text() };
    } catch (error) {
      const failure = transportFailure(error, this.options.timeout);
      throw this.handshakeError(failure.reason, failure.text, undefined, { cause: error });
    }
    if (reply.status !== 201 && reply.status !== 200) {
      throw this.handshakeError(
        handshakeFailureOf(reply.status),
        MeshClientMessages.clientHttpStatus(reply.status),
        reply.status,
      );
    }
    return reply;
  }

  /** A signed `DELETE` on the handshake path; 401 means the server had no such session. */
  protected async end(session: ClientSession): Promise<boolean> {
    const prepared = prepareRequest(this.service.url, {
      method: 'DELETE',
      path: this.service.handshakePath,
    });
    const response = await this.send(prepared, session);
    if (response.status === 401) return false;
    if (response.status < 200 || response.status >= 300) {
      throw this.httpError(prepared, response.status, errorBody(response));
    }
    return true;
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
    // The trace context goes beside the signature, uncovered by it: a proxy may rewrite it.
    const headers: Record<string, string> = { ...request.headers, ...signature };
    this.telemetry.current.injectTraceContext(headers);
    try {
      const response = await this.fetch(request.url, {
        method: request.method,
        headers,
        body: request.body,
        redirect: 'manual',
        signal: AbortSignal.timeout(this.options.timeout),
      });
      const body = Buffer.from(await response.arrayBuffer());
      return createMeshResponse(this.service.id, request, response.status, response.headers, body);
    } catch (error) {
      const failure = transportFailure(error, this.options.timeout);
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
    return (this.options.fetch ?? globalThis.fetch)(url, init);
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
