import { createRequire } from 'node:module';
import { HANDSHAKE_CONTENT_TYPE } from '../protocol/handshake/handshake.constants.js';
import { HandshakeError } from '../protocol/handshake/handshake.error.js';
import {
  createClientHello,
  createEphemeralKeyPair,
  deriveSessionKey,
  parseServerHello,
  serverHelloBytes,
  verifyWithAnyKey,
} from '../protocol/handshake/handshake.protocol.js';
import { SessionMessages } from '../core/session.messages.js';
import { MeshClientMessages } from './mesh-client.messages.js';
import { HandshakeMessages } from '../protocol/handshake/handshake.messages.js';
import { signRequest } from '../protocol/signing/request-signer.js';
import {
  MeshHandshakeError,
  MeshRequestError,
  type MeshHandshakeFailure,
} from './mesh-client.errors.js';
import type {
  ResolvedMeshClientOptions,
  ResolvedMeshServiceOptions,
} from './mesh-client.options.js';

/** A request through {@link MeshConnection.request}. */
export interface MeshRequestInit {
  /**
   * HTTP method.
   *
   * @default 'GET'
   */
  method?: string;
  /** Path below the service URL, with its query string if any: `/orders?limit=10`. */
  path: string;
  /** Extra headers. The signature headers are added. */
  headers?: Record<string, string>;
  /**
   * The body: bytes and strings are sent as they are; anything else as JSON (with
   * `Content-Type: application/json` unless set).
   */
  body?: unknown;
}

/** An answer to {@link MeshConnection.request}. */
export interface MeshResponse {
  /** HTTP status (2xx: anything else raises {@link MeshRequestError}). */
  readonly status: number;
  /** Response headers. */
  readonly headers: Headers;
  /** The raw body. */
  readonly body: Buffer;
  /** The body as UTF-8 text. */
  text(): string;
  /**
   * The body parsed as JSON, or `undefined` when empty.
   *
   * @throws {MeshRequestError} `invalid_response` when it is not JSON
   */
  json<T = unknown>(): T;
}

/** The live session with a service. The key never leaves this object. */
interface ActiveSession {
  readonly id: string;
  readonly key: Buffer;
  readonly expiresAt: number;
}

interface PreparedRequest {
  readonly method: string;
  readonly path: string;
  readonly url: URL;
  readonly headers: Record<string, string>;
  readonly body: Buffer | undefined;
}

const NOT_FOUND_MESSAGE = SessionMessages.sessionNotFound();
let clientVersion: string | undefined;

/**
 * A connection to one service: it handshakes lazily on first use (concurrent first calls share
 * one handshake), signs every request with the session key, and, when the server answers 401
 * because the session expired or is unknown, handshakes again once and retries. That retry is
 * safe because the server's guard refuses before any handler runs.
 *
 * Get one from `MeshClient.connect(serviceId)`.
 *
 * @example
 * ```ts
 * const greeter = client.connect('greeter');
 * const { message } = await greeter.call<{ message: string }>('greet', { name: 'World' });
 * const res = await greeter.request({ method: 'GET', path: '/health' });
 * ```
 */
export class MeshConnection {
  #session: ActiveSession | undefined;
  #pending: Promise<ActiveSession> | undefined;

  /**
   * @param options the client's resolved options
   * @param service the service to talk to
   */
  constructor(
    protected readonly options: ResolvedMeshClientOptions,
    protected readonly service: ResolvedMeshServiceOptions,
  ) {}

  /** The remote service's id. */
  get serviceId(): string {
    return this.service.id;
  }

  /** The current session's id, or `undefined` before the first handshake. */
  get sessionId(): string | undefined {
    return this.#session?.id;
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
   * @throws {MeshHandshakeError} when the handshake fails
   * @throws {MeshRequestError} for a non-2xx answer, a timeout or a network error
   */
  async request(init: MeshRequestInit): Promise<MeshResponse> {
    const prepared = this.prepare(init);
    for (let attempt = 0; ; attempt++) {
      const session = await this.open();
      const response = await this.send(prepared, session);
      if (response.status >= 200 && response.status < 300) return response;
      const body = safeParse(response);
      if (attempt === 0 && response.status === 401 && messageOf(body) === NOT_FOUND_MESSAGE) {
        this.forget(session);
        continue;
      }
      throw new MeshRequestError(
        this.service.id,
        'http',
        MeshClientMessages.clientRequestFailed(
          this.service.id,
          prepared.method,
          prepared.path,
          MeshClientMessages.clientHttpStatus(response.status, messageOf(body)),
        ),
        { method: prepared.method, path: prepared.path, status: response.status, body },
      );
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
    const path = this.service.handshakePath;
    const prepared = this.prepare({ method: 'DELETE', path });
    try {
      const response = await this.send(prepared, session);
      if (response.status === 401) return false;
      if (response.status < 200 || response.status >= 300) {
        const body = safeParse(response);
        throw new MeshRequestError(
          this.service.id,
          'http',
          MeshClientMessages.clientRequestFailed(
            this.service.id,
            'DELETE',
            path,
            MeshClientMessages.clientHttpStatus(response.status),
          ),
          { method: 'DELETE', path, status: response.status, body },
        );
      }
      return true;
    } finally {
      session.key.fill(0);
    }
  }

  /** The live session, after a handshake if needed; concurrent callers share one handshake. */
  protected open(): Promise<ActiveSession> {
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
  protected forget(session: ActiveSession): void {
    if (this.#session === session) this.#session = undefined;
  }

  /** One handshake: sends the signed hello, verifies the signed reply, derives the key. */
  protected async handshake(): Promise<ActiveSession> {
    const serviceId = this.service.id;
    const ephemeral = createEphemeralKeyPair();
    const hello = createClientHello({
      clientId: this.options.serviceId,
      serverId: serviceId,
      identityKey: this.options.privateKey,
      ephemeral,
      clientVersion: getClientVersion(),
    });
    let status: number;
    let text: string;
    try {
      const response = await this.fetch(new URL(this.service.url + this.service.handshakePath), {
        method: 'POST',
        headers: { 'content-type': HANDSHAKE_CONTENT_TYPE, accept: 'application/json' },
        body: JSON.stringify(hello.hello),
        redirect: 'manual',
        signal: AbortSignal.timeout(this.options.timeout),
      });
      status = response.status;
      text = await response.text();
    } catch (error) {
      const timeout = isTimeout(error);
      throw new MeshHandshakeError(
        serviceId,
        timeout ? 'timeout' : 'network',
        MeshClientMessages.clientHandshakeFailed(
          serviceId,
          timeout
            ? MeshClientMessages.clientTimeout(this.options.timeout)
            : MeshClientMessages.clientUnreachable(),
        ),
        undefined,
        { cause: error },
      );
    }
    if (status !== 201 && status !== 200) {
      const reason: MeshHandshakeFailure =
        status === 401
          ? 'rejected'
          : status === 429
            ? 'rate_limited'
            : status === 503
              ? 'unavailable'
              : 'http';
      throw new MeshHandshakeError(
        serviceId,
        reason,
        MeshClientMessages.clientHandshakeFailed(
          serviceId,
          MeshClientMessages.clientHttpStatus(status),
        ),
        status,
      );
    }
    try {
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        throw new HandshakeError(HandshakeMessages.handshakeReplyNotJson());
      }
      const reply = parseServerHello(value);
      const signed = serverHelloBytes(hello, {
        sessionId: reply.hello.sessionId,
        ephemeralKey: reply.ephemeralKey,
        nonce: reply.nonce,
        expiresAt: reply.hello.expiresAt,
      });
      if (!verifyWithAnyKey(signed, reply.signature, this.service.publicKeys)) {
        throw new HandshakeError(HandshakeMessages.handshakeReplySignature());
      }
      const key = deriveSessionKey({
        ownPrivateKey: ephemeral.privateKey,
        peerPublicKey: reply.ephemeralKey,
        client: hello,
        serverEphemeralKey: reply.ephemeralKey,
        serverNonce: reply.nonce,
      });
      return { id: reply.hello.sessionId, key, expiresAt: reply.hello.expiresAt };
    } catch (error) {
      if (!(error instanceof HandshakeError)) throw error;
      throw new MeshHandshakeError(
        serviceId,
        'invalid_reply',
        MeshClientMessages.clientHandshakeFailed(serviceId, error.reason),
        status,
      );
    }
  }

  /** Resolves the URL and encodes the body once, for every attempt. */
  protected prepare(init: MeshRequestInit): PreparedRequest {
    if (init === null || typeof init !== 'object' || typeof init.path !== 'string') {
      throw new TypeError(
        SessionMessages.invalidArgument('init.path', 'a path such as "/orders"', init?.path),
      );
    }
    const method = (init.method ?? 'GET').toUpperCase();
    const path = init.path.startsWith('/') ? init.path : `/${init.path}`;
    const url = new URL(this.service.url + path);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(init.headers ?? {})) {
      headers[name.toLowerCase()] = value;
    }
    let body: Buffer | undefined;
    if ((method === 'GET' || method === 'HEAD') && init.body !== undefined && init.body !== null) {
      throw new TypeError(
        SessionMessages.invalidArgument('init.body', `absent for ${method}`, init.body),
      );
    }
    if (init.body === undefined || init.body === null) {
      body = undefined;
    } else if (typeof init.body === 'string') {
      body = Buffer.from(init.body, 'utf8');
    } else if (init.body instanceof Uint8Array) {
      body = Buffer.from(init.body);
    } else {
      body = Buffer.from(JSON.stringify(init.body), 'utf8');
      headers['content-type'] ??= 'application/json';
    }
    return { method, path, url, headers, body };
  }

  /** Signs and sends one attempt. */
  protected async send(request: PreparedRequest, session: ActiveSession): Promise<MeshResponse> {
    const signature = signRequest({
      method: request.method,
      url: request.url,
      body: request.body,
      sessionId: session.id,
      sessionKey: session.key,
    });
    try {
      const response = await this.fetch(request.url, {
        method: request.method,
        headers: { ...request.headers, ...signature },
        body: request.body,
        redirect: 'manual',
        signal: AbortSignal.timeout(this.options.timeout),
      });
      const body = Buffer.from(await response.arrayBuffer());
      return createResponse(this.service.id, request, response.status, response.headers, body);
    } catch (error) {
      const timeout = isTimeout(error);
      throw new MeshRequestError(
        this.service.id,
        timeout ? 'timeout' : 'network',
        MeshClientMessages.clientRequestFailed(
          this.service.id,
          request.method,
          request.path,
          timeout
            ? MeshClientMessages.clientTimeout(this.options.timeout)
            : MeshClientMessages.clientUnreachable(),
        ),
        { method: request.method, path: request.path },
        { cause: error },
      );
    }
  }

  private fetch(url: URL, init: RequestInit): Promise<Response> {
    return (this.options.fetch ?? globalThis.fetch)(url, init);
  }
}

function createResponse(
  serviceId: string,
  request: PreparedRequest,
  status: number,
  headers: Headers,
  body: Buffer,
): MeshResponse {
  return {
    status,
    headers,
    body,
    text: () => body.toString('utf8'),
    json: <T>(): T => {
      if (body.length === 0) return undefined as T;
      try {
        return JSON.parse(body.toString('utf8')) as T;
      } catch (error) {
        throw new MeshRequestError(
          serviceId,
          'invalid_response',
          MeshClientMessages.clientRequestFailed(
            serviceId,
            request.method,
            request.path,
            MeshClientMessages.clientAnswerNotJson(),
          ),
          { method: request.method, path: request.path, status, body: body.toString('utf8') },
          { cause: error },
        );
      }
    },
  };
}

function safeParse(response: MeshResponse): unknown {
  const text = response.text();
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function messageOf(body: unknown): string | undefined {
  if (body === null || typeof body !== 'object') return undefined;
  const message = (body as { message?: unknown }).message;
  return typeof message === 'string' ? message : undefined;
}

function isTimeout(error: unknown): boolean {
  // A DOMException; duck-typed, as it may come from another realm.
  const name = (error as { name?: unknown } | null)?.name;
  return name === 'TimeoutError' || name === 'AbortError';
}

function getClientVersion(): string {
  if (clientVersion === undefined) {
    let version = 'unknown';
    try {
      // lib/client and dist/client both sit two levels below the package root.
      const pkg = createRequire(import.meta.url)('../../package.json') as { version?: unknown };
      if (typeof pkg.version === 'string' && /^[\w.+-]{1,32}$/.test(pkg.version)) {
        version = pkg.version;
      }
    } catch {
      // Bundled without its package.json: the version stays unknown.
    }
    clientVersion = `nestjs-mesh-session/${version}`;
  }
  return clientVersion;
}
