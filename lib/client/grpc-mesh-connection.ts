import { SessionMessages } from '../core/session.messages.js';
import type { ClientHandshake, ClientSession } from '../protocol/handshake/client-handshake.js';
import type { ClientTelemetry } from './client-telemetry.js';
import type { ResolvedMeshClientOptions } from './mesh-client.options.js';
import type { ResolvedGrpcServiceOptions } from './grpc-service.options.js';
import {
  GRPC_STATUS,
  grpcHandshakeFailureOf,
  grpcStatusName,
  isGrpcStatus,
  trailersOf,
  type GrpcStatusLike,
} from './grpc-status.js';
import type { GrpcMethod } from './grpc-peers.js';
import type { GrpcTransport } from './grpc-transport.js';
import { MeshGrpcCallError } from './mesh-client.errors.js';
import { MeshClientMessages } from './mesh-client.messages.js';
import { MeshConnection, type HelloReply } from './mesh-connection.js';
import type { MeshResponse } from './mesh-response.js';

const NOT_FOUND_MESSAGE = SessionMessages.sessionNotFound();
const METHOD_NAME = /^[A-Za-z_]\w*$/;

/**
 * A connection to a service over gRPC: the hello goes through
 * `/mesh_session.v1.MeshHandshake/Open`, and every unary call is signed (RFC 9421, `@path` and
 * the `content-digest` of the request message's bytes, which are sent exactly as signed). An
 * UNAUTHENTICATED 'Session not found or expired' makes it handshake again once and retry.
 *
 * @example
 * ```ts
 * const greeter = client.connect('greeter'); // { grpc: {...}, publicKey } in the options
 * const { message } = await greeter.call<{ message: string }>('Greet', { name: 'World' });
 * ```
 */
export class GrpcMeshConnection extends MeshConnection {
  declare protected readonly service: ResolvedGrpcServiceOptions;

  /**
   * @param options the client's resolved options
   * @param service the service to talk to
   * @param transport the service's channel and definitions, which the client owns
   * @param telemetry the client's telemetry; by default one of the connection's own
   */
  constructor(
    options: ResolvedMeshClientOptions,
    service: ResolvedGrpcServiceOptions,
    private readonly transport: GrpcTransport,
    telemetry?: ClientTelemetry,
  ) {
    super(options, service, telemetry);
  }

  /**
   * Calls a unary method of the service, signed.
   *
   * @param method the method's name, as in the `.proto` (`Greet`) or in camelCase (`greet`)
   * @param data the request message, as the `loader` options shape it
   * @returns the reply message
   * @throws {TypeError} when `method` is not a unary method of the service, or `data` cannot be
   *   serialised as its request
   * @throws {MeshClientError} when `@grpc/grpc-js` or `@grpc/proto-loader` is missing, or the
   *   `.proto` files do not load
   * @throws {MeshHandshakeError} when the handshake fails
   * @throws {MeshGrpcCallError} when the call ends with a status other than OK
   */
  async call<T = unknown>(method: string, data: unknown = {}): Promise<T> {
    if (typeof method !== 'string' || !METHOD_NAME.test(method)) {
      throw new TypeError(SessionMessages.invalidArgument('method', 'a gRPC method name', method));
    }
    const definition = await this.transport.method(method);
    const bytes = serialise(definition, data);
    const reply = await this.withSession(
      (session) => this.invoke(definition, bytes, session),
      (error) =>
        error instanceof MeshGrpcCallError &&
        error.code === GRPC_STATUS.UNAUTHENTICATED &&
        error.details === NOT_FOUND_MESSAGE,
    );
    return reply as T;
  }

  /**
   * Not available over gRPC: `request()` sends HTTP requests.
   *
   * @throws {TypeError} always, saying to use `call()`
   */
  async request(): Promise<MeshResponse> {
    throw new TypeError(MeshClientMessages.clientRequestOnGrpc(this.service.id));
  }

  /** Sends the hello to `MeshHandshake/Open`; a status other than OK is a refusal. */
  protected async sendHello(handshake: ClientHandshake): Promise<HelloReply> {
    const open = await this.transport.handshakeMethod('Open');
    try {
      const bytes = open.requestSerialize(handshake.hello.hello);
      const metadata: Record<string, string> = {};
      this.telemetry.current.injectTraceContext(metadata);
      const reply = await this.transport.unary(
        open.path,
        bytes,
        metadata,
        open.responseDeserialize,
      );
      return { text: JSON.stringify(reply) };
    } catch (error) {
      if (!isGrpcStatus(error)) throw error;
      const { code } = error;
      throw this.handshakeError(grpcHandshakeFailureOf(code), this.why(error), undefined, {
        cause: error,
        code,
      });
    }
  }

  /** A signed `MeshHandshake/Close`; UNAUTHENTICATED means the server had no such session. */
  protected async end(session: ClientSession): Promise<boolean> {
    const close = await this.transport.handshakeMethod('Close');
    try {
      const reply = await this.invoke(close, close.requestSerialize({}), session);
      return (reply as { ended?: unknown } | undefined)?.ended === true;
    } catch (error) {
      if (error instanceof MeshGrpcCallError && error.code === GRPC_STATUS.UNAUTHENTICATED) {
        return false;
      }
      throw error;
    }
  }

  /** Signs and sends one attempt. */
  private async invoke(
    method: GrpcMethod,
    bytes: Buffer,
    session: ClientSession,
  ): Promise<unknown> {
    // The trace context goes beside the signature, uncovered by it: a proxy may rewrite it.
    const metadata: Record<string, string> = { ...this.sign(session, method.path, bytes) };
    this.telemetry.current.injectTraceContext(metadata);
    try {
      return await this.transport.unary(method.path, bytes, metadata, method.responseDeserialize);
    } catch (error) {
      if (!isGrpcStatus(error)) throw error;
      const { id } = this.service;
      throw new MeshGrpcCallError(
        id,
        error.code === GRPC_STATUS.DEADLINE_EXCEEDED ? 'timeout' : 'grpc',
        MeshClientMessages.clientCallFailed(id, method.path, this.why(error)),
        {
          method: method.path.slice(method.path.lastIndexOf('/') + 1),
          path: method.path,
          code: error.code,
          details: error.details,
          metadata: trailersOf(error),
        },
        { cause: error },
      );
    }
  }

  /** A status in words; the client's own deadline as the HTTP client words it. */
  private why(status: GrpcStatusLike): string {
    return status.code === GRPC_STATUS.DEADLINE_EXCEEDED
      ? MeshClientMessages.clientTimeout(this.options.timeout)
      : MeshClientMessages.clientGrpcStatus(grpcStatusName(status.code), status.details);
  }
}

/** The request's bytes, serialised once: a retry sends (and signs) the very same bytes. */
function serialise(method: GrpcMethod, data: unknown): Buffer {
  const expected = `a request message for ${method.path}`;
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new TypeError(SessionMessages.invalidArgument('data', expected, data));
  }
  try {
    return method.requestSerialize(data);
  } catch (error) {
    throw new TypeError(SessionMessages.invalidArgument('data', expected, data), { cause: error });
  }
}
