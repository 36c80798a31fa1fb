import {
  InterceptingCall,
  Metadata,
  status,
  type Interceptor,
  type InterceptingListener,
  type InterceptorOptions,
  type NextCall,
  type StatusObject,
} from '@grpc/grpc-js';
import { SessionMessages } from '../core/session.messages.js';
import { MeshHandshakeError } from '../client/mesh-client.errors.js';
import type { MeshClient } from '../client/mesh-client.js';
import type { MeshConnection } from '../client/mesh-connection.js';

const NOT_FOUND_MESSAGE = SessionMessages.sessionNotFound();

/** The status a call gets when it cannot be signed, by why the handshake failed. */
const STATUS_OF_FAILURE: Readonly<Record<string, status>> = {
  rejected: status.UNAUTHENTICATED,
  invalid_reply: status.UNAUTHENTICATED,
  rate_limited: status.RESOURCE_EXHAUSTED,
  timeout: status.DEADLINE_EXCEEDED,
};

/**
 * A grpc-js client interceptor that signs every call with one request message (unary and
 * server-streaming) with `MeshClient`'s session with a service, for clients it does not create
 * itself, such as the stubs of Nest's `ClientGrpc`. Per call it waits for the message, serialises
 * it with the method's own `requestSerialize` (the bytes grpc-js then sends), gets the session
 * (handshaking on first use; concurrent calls share one handshake), and adds the signature
 * metadata before the call starts. When the server answers UNAUTHENTICATED 'Session not found or
 * expired', a unary call handshakes again and is retried once; a server-streaming call fails and
 * the next call handshakes again. Client-streaming and bidi calls pass unsigned.
 *
 * The service may be configured in `MeshClientModule` over HTTP or gRPC: only the handshake's
 * transport differs. A call that cannot be signed ends with UNAUTHENTICATED (handshake refused),
 * RESOURCE_EXHAUSTED, DEADLINE_EXCEEDED or UNAVAILABLE, with the reason as details.
 *
 * Nest's `ClientGrpcProxy` hands `channelOptions` to the grpc-js `Client` it creates for each
 * service, and grpc-js takes its `interceptors` from there. `ClientsModule.registerAsync()`
 * injects the app's `MeshClient` (below); with `ClientsModule.register()`, pass a client made
 * with `new MeshClient(options)`, and call its `disconnectAll()` at shutdown.
 *
 * @param client the app's `MeshClient`
 * @param serviceId the service, as configured in `MeshClientModule`
 * @returns the interceptor
 * @throws {TypeError} when the service is not configured
 * @example
 * ```ts
 * @Module({
 *   imports: [
 *     MeshClientModule.forRoot({ serviceId: 'caller', privateKey, services: { greeter }, isGlobal: true }),
 *     ClientsModule.registerAsync([
 *       {
 *         name: 'GREETER',
 *         inject: [MeshClient],
 *         useFactory: (client: MeshClient) => ({
 *           transport: Transport.GRPC,
 *           options: {
 *             url: 'greeter:50051',
 *             package: 'greeter.v1',
 *             protoPath: 'protos/greeter.proto',
 *             channelOptions: { interceptors: [meshGrpcInterceptor(client, 'greeter')] },
 *           },
 *         }),
 *       },
 *     ]),
 *   ],
 * })
 * export class AppModule {}
 * ```
 */
export function meshGrpcInterceptor(client: MeshClient, serviceId: string): Interceptor {
  const connection = client.connect(serviceId);
  return (options, nextCall) =>
    options.method_definition.requestStream
      ? new InterceptingCall(nextCall(options))
      : new SigningCall(connection, options, nextCall).call;
}

/** One signed call: its first attempt and, for a unary call, one retry after a new handshake. */
class SigningCall {
  readonly call: InterceptingCall;
  #outer!: InterceptingListener;
  #metadata!: Metadata;
  #startFirst: ((metadata: Metadata, listener: InterceptingListener) => void) | undefined;
  #retry: ReturnType<NextCall> | undefined;
  #cancelled = false;

  constructor(
    private readonly connection: MeshConnection,
    private readonly options: InterceptorOptions,
    private readonly nextCall: NextCall,
  ) {
    this.call = new InterceptingCall(nextCall(options), {
      start: (metadata, listener, next) => {
        // Held until the message is here: the signature covers its bytes.
        this.#metadata = metadata;
        this.#outer = listener;
        this.#startFirst = next;
      },
      sendMessage: (message, next) => {
        this.sign(message).then(
          ({ metadata, sessionId }) => {
            // The message first: the call keeps it until it starts, then sends it before the
            // half-close that already came.
            next(message);
            this.start(metadata, this.listener(sessionId, message, this.retryable));
          },
          (error: unknown) => {
            this.start(this.#metadata, this.#outer);
            this.call.cancelWithStatus(statusOf(error), detailsOf(error));
          },
        );
      },
      cancel: (next) => {
        this.#cancelled = true;
        this.start(this.#metadata, this.#outer);
        this.#retry?.cancelWithStatus(status.CANCELLED, 'Cancelled on client');
        next();
      },
    });
  }

  /** Only a unary answer can be held back until the status says whether to retry. */
  private get retryable(): boolean {
    return !this.options.method_definition.responseStream;
  }

  /** Starts the first attempt, once. */
  private start(metadata: Metadata, listener: InterceptingListener): void {
    const start = this.#startFirst;
    this.#startFirst = undefined;
    start?.(metadata, listener);
  }

  /** The call's metadata, a copy per attempt, with a signature over the message's bytes. */
  private async sign(message: unknown): Promise<{ metadata: Metadata; sessionId: string }> {
    const { path, requestSerialize } = this.options.method_definition;
    const signed = await this.connection.signCall(path, requestSerialize(message));
    const metadata = this.#metadata.clone();
    for (const [key, value] of Object.entries(signed.metadata)) metadata.set(key, value);
    return { metadata, sessionId: signed.sessionId };
  }

  /** Hands an attempt's answer on; a held unary answer only once its status allows. */
  private listener(sessionId: string, message: unknown, hold: boolean): InterceptingListener {
    const held: Array<() => void> = [];
    let ended = false;
    return {
      onReceiveMetadata: (metadata) =>
        this.pass(hold, held, () => this.#outer.onReceiveMetadata(metadata)),
      onReceiveMessage: (reply) => this.pass(hold, held, () => this.#outer.onReceiveMessage(reply)),
      onReceiveStatus: (end) => {
        if (ended) return;
        ended = true;
        if (end.code === status.UNAUTHENTICATED && end.details === NOT_FOUND_MESSAGE) {
          this.connection.forgetSession(sessionId);
          if (hold && !this.#cancelled) return this.retry(message);
        }
        for (const pass of held) pass();
        this.#outer.onReceiveStatus(end);
      },
    };
  }

  private pass(hold: boolean, held: Array<() => void>, pass: () => void): void {
    if (hold) held.push(pass);
    else pass();
  }

  /** The second attempt: a new handshake, a new signature, the same message. */
  private retry(message: unknown): void {
    this.sign(message).then(
      ({ metadata, sessionId }) => {
        if (this.#cancelled) return this.#outer.onReceiveStatus(cancelled());
        this.#retry = this.nextCall(this.options);
        this.#retry.start(metadata, this.listener(sessionId, message, false));
        this.#retry.sendMessage(message);
        this.#retry.halfClose();
      },
      (error: unknown) =>
        this.#outer.onReceiveStatus({
          code: statusOf(error),
          details: detailsOf(error),
          metadata: new Metadata(),
        }),
    );
  }
}

function cancelled(): StatusObject {
  return { code: status.CANCELLED, details: 'Cancelled on client', metadata: new Metadata() };
}

function statusOf(error: unknown): status {
  if (error instanceof MeshHandshakeError) {
    return error.code ?? STATUS_OF_FAILURE[error.reason] ?? status.UNAVAILABLE;
  }
  return error instanceof TypeError ? status.INVALID_ARGUMENT : status.UNAVAILABLE;
}

function detailsOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
