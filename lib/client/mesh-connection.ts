import { redactDumps } from '../core/redacted.js';
import { ClientHandshake, type ClientSession } from '../protocol/handshake/client-handshake.js';
import { HandshakeError } from '../protocol/handshake/handshake.error.js';
import { signGrpcCall, type SignedCallMetadata } from '../protocol/signing/call-signer.js';
import { ClientTelemetry } from './client-telemetry.js';
import { clientVersion } from './client-version.js';
import { MeshHandshakeError, type MeshHandshakeFailure } from './mesh-client.errors.js';
import { MeshClientMessages } from './mesh-client.messages.js';
import type {
  ResolvedMeshClientOptions,
  ResolvedMeshServiceOptions,
} from './mesh-client.options.js';
import type { MeshRequestInit } from './mesh-request.js';
import type { MeshResponse } from './mesh-response.js';

export type { MeshRequestInit } from './mesh-request.js';
export type { MeshResponse } from './mesh-response.js';

/** The server's answer to a client hello: its JSON, and its HTTP status over HTTP. */
export interface HelloReply {
  readonly text: string;
  readonly status?: number;
}

/**
 * A gRPC call signed with the connection's session: the metadata entries to send, and the
 * session that signed them.
 */
export interface MeshSignedCall {
  /** The session whose key signed the call. */
  readonly sessionId: string;
  /** The `x-mesh-signature` entry (see `signGrpcCall`). */
  readonly metadata: SignedCallMetadata;
}

/**
 * A connection to one service: it handshakes lazily on first use (concurrent first calls share
 * one handshake), signs every call with the session key, and, when the server answers that the
 * session expired or is unknown, handshakes again once and retries. That retry is safe because
 * the server's guard refuses before any handler runs. HTTP services get an
 * `HttpMeshConnection`, gRPC services a `GrpcMeshConnection`; both share this session logic.
 *
 * Get one from `MeshClient.connect(serviceId)`. `util.inspect`, `console.log`, Nest's `Logger`
 * and `JSON.stringify` show no key.
 *
 * @example
 * ```ts
 * const greeter = client.connect('greeter');
 * const { message } = await greeter.call<{ message: string }>('greet', { name: 'World' });
 * const res = await greeter.request({ method: 'GET', path: '/health' }); // HTTP services only
 * ```
 */
export abstract class MeshConnection {
  #session: ClientSession | undefined;
  #pending: Promise<ClientSession> | undefined;
  /** The client's options, private key included: a private field, which no generic dump sees. */
  readonly #options: ResolvedMeshClientOptions;

  /**
   * @param options the client's resolved options
   * @param service the service to talk to
   * @param telemetry the client's telemetry; by default one of the connection's own, from
   *   `options.telemetry`
   */
  constructor(
    options: ResolvedMeshClientOptions,
    protected readonly service: ResolvedMeshServiceOptions,
    protected readonly telemetry: ClientTelemetry = new ClientTelemetry(options.telemetry, [
      service.serverId,
    ]),
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
      transport: self.service.transport,
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
   * Calls a method of the service. Over HTTP: `POST <url>/<method>` with `data` as JSON. Over
   * gRPC: the unary method `method` with `data` as its request message.
   *
   * @param method the route below the service URL (`greet`), or the gRPC method (`Greet`)
   * @param data the JSON body, or the request message
   * @returns the parsed JSON answer (`undefined` for an empty one), or the reply message
   * @throws {TypeError} when `method` is empty or not a unary method of the gRPC service
   * @throws {MeshHandshakeError} when the handshake fails
   * @throws {MeshRequestError} for a non-2xx answer, a gRPC status other than OK
   *   (`MeshGrpcCallError`), a timeout or a network error
   */
  abstract call<T = unknown>(method: string, data?: unknown): Promise<T>;

  /**
   * Sends any signed HTTP request to the service.
   *
   * @param init method, path, headers and body
   * @returns the answer, when 2xx
   * @throws {TypeError} on a gRPC service, when `init.path` is missing, or a GET or HEAD has a
   *   body
   * @throws {MeshHandshakeError} when the handshake fails
   * @throws {MeshRequestError} for a non-2xx answer, a timeout or a network error
   */
  abstract request(init: MeshRequestInit): Promise<MeshResponse>;

  /**
   * Handshakes now unless a session is already open (or opening).
   *
   * @throws {MeshHandshakeError} when the handshake fails
   */
  async connect(): Promise<void> {
    await this.open();
  }

  /**
   * Ends the session on the server (a signed `DELETE` on the handshake path over HTTP, a signed
   * `MeshHandshake/Close` over gRPC) and forgets it.
   *
   * @returns whether the server ended a session; `false` when there was none
   * @throws {MeshRequestError} when the server cannot be reached or answers an error; the
   *   session is forgotten locally all the same
   */
  async disconnect(): Promise<boolean> {
    const session = (await this.#pending?.catch(() => undefined)) ?? this.#session;
    if (session === undefined) return false;
    this.forget(session);
    try {
      return await this.end(session);
    } finally {
      session.key.fill(0);
    }
  }

  /**
   * Signs one gRPC call (unary or server-streaming) with the session, after a handshake if
   * needed: for a client of the service's own, such as the stubs of Nest's `ClientGrpc` through
   * `meshGrpcInterceptor()`.
   *
   * @param path the full method path, such as `/greeter.v1.Greeter/Greet`
   * @param message the request message exactly as it will be sent
   * @returns the metadata entries to send, and the session that signed them
   * @throws {TypeError} when `path` is not a gRPC method path
   * @throws {MeshHandshakeError} when the handshake fails
   * @example
   * ```ts
   * const { metadata } = await client.connect('greeter').signCall(path, bytes);
   * ```
   */
  async signCall(path: string, message: Uint8Array): Promise<MeshSignedCall> {
    const session = await this.open();
    return { sessionId: session.sessionId, metadata: this.sign(session, path, message) };
  }

  /**
   * Forgets a session the server answered it no longer knows, so that the next call handshakes
   * again; a session that was already replaced stays.
   *
   * @param sessionId the session the server refused
   * @returns whether it was the current session
   */
  forgetSession(sessionId: string): boolean {
    if (this.#session?.sessionId !== sessionId) return false;
    this.#session = undefined;
    return true;
  }

  /**
   * Runs one attempt with the session and, when it fails because the server no longer knows
   * the session, a second one after a new handshake.
   *
   * @param attempt sends the call signed with a session
   * @param sessionGone whether an error says the server no longer knows the session
   * @returns what the attempt returns
   */
  protected async withSession<T>(
    attempt: (session: ClientSession) => Promise<T>,
    sessionGone: (error: unknown) => boolean,
  ): Promise<T> {
    const session = await this.open();
    try {
      return await attempt(session);
    } catch (error) {
      if (!sessionGone(error)) throw error;
      this.forget(session);
    }
    return attempt(await this.open());
  }

  /** Signs a gRPC call with a session. */
  protected sign(session: ClientSession, path: string, message: Uint8Array): SignedCallMetadata {
    return signGrpcCall({ path, message, sessionId: session.sessionId, sessionKey: session.key });
  }

  /** The live session, after a handshake if needed; concurrent callers share one handshake. */
  protected open(): Promise<ClientSession> {
    if (this.#session !== undefined) return Promise.resolve(this.#session);
    this.#pending ??= this.recordedHandshake().then(
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

  /**
   * {@link handshake}, counted and timed and, when tracing, in a `mesh_session.handshake` span
   * of kind CLIENT, whose context the hello carries.
   */
  private async recordedHandshake(): Promise<ClientSession> {
    const telemetry = await this.telemetry.ready();
    return telemetry.handshake(
      'client',
      this.service.transport,
      this.service.serverId,
      () => this.handshake(),
      clientHandshakeOutcome,
    );
  }

  /** One handshake: sends the signed hello, then checks the signed reply and derives the key. */
  protected async handshake(): Promise<ClientSession> {
    const handshake = new ClientHandshake({
      clientId: this.#options.serviceId,
      serverId: this.service.serverId,
      identityKey: this.#options.privateKey,
      clientVersion: clientVersion(),
    });
    const reply = await this.sendHello(handshake);
    try {
      return handshake.complete(reply.text, this.service.publicKeys);
    } catch (error) {
      if (!(error instanceof HandshakeError)) throw error;
      throw this.handshakeError('invalid_reply', error.reason, reply.status);
    }
  }

  /**
   * Sends the hello over the service's transport.
   *
   * @param handshake the handshake, whose hello to send
   * @returns the server's reply, when it accepted the hello
   * @throws {MeshHandshakeError} when the server refused it or could not be reached
   */
  protected abstract sendHello(handshake: ClientHandshake): Promise<HelloReply>;

  /**
   * Ends a session on the server.
   *
   * @param session the session, already forgotten locally
   * @returns whether the server ended it
   */
  protected abstract end(session: ClientSession): Promise<boolean>;

  /** The error of a failed handshake, with the service's id and the reason in words. */
  protected handshakeError(
    reason: MeshHandshakeFailure,
    why: string,
    status?: number,
    options?: { cause?: unknown; code?: number },
  ): MeshHandshakeError {
    const serviceId = this.service.id;
    const message = MeshClientMessages.clientHandshakeFailed(serviceId, why);
    return new MeshHandshakeError(serviceId, reason, message, status, options);
  }
}

/** The `mesh_session.outcome` of a failed client handshake: its failure reason, or `error`. */
function clientHandshakeOutcome(error: unknown): string {
  return error instanceof MeshHandshakeError ? error.reason : 'error';
}
