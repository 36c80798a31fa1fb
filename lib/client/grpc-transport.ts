import { SessionMessages } from '../core/session.messages.js';
import type { ResolvedGrpcServiceOptions } from './grpc-service.options.js';
import {
  handshakeMethods,
  loadGrpcPeers,
  type GrpcClientLike,
  type GrpcMethod,
  type GrpcPeers,
} from './grpc-peers.js';
import { MeshClientError } from './mesh-client.errors.js';
import { MeshClientMessages } from './mesh-client.messages.js';

/** The request is already serialised: its bytes go on the wire as they were signed. */
const asSerialised = (bytes: Buffer): Buffer => bytes;

/**
 * The gRPC side of one service for `MeshClient`: the optional peers and the `.proto` files,
 * loaded on first use, and one grpc-js `Client` (one channel) for the handshake and the calls.
 * It sends bytes and metadata it is given; signing is the connection's.
 *
 * @example
 * ```ts
 * const transport = new GrpcTransport(service, 10_000);
 * const greet = await transport.method('Greet');
 * const reply = await transport.unary(greet.path, bytes, metadata, greet.responseDeserialize);
 * transport.close();
 * ```
 */
export class GrpcTransport {
  #client: GrpcClientLike | undefined;
  #methods: Promise<Record<string, GrpcMethod>> | undefined;

  /**
   * @param service the service's resolved options
   * @param timeout the deadline of each call (ms)
   */
  constructor(
    private readonly service: ResolvedGrpcServiceOptions,
    private readonly timeout: number,
  ) {}

  /**
   * A unary method of the service.
   *
   * @param name the method's name as in the `.proto` (`Greet`), or its camelCase form (`greet`)
   * @returns its definition
   * @throws {TypeError} when the service has no such unary method
   * @throws {MeshClientError} when the peers are missing or the `.proto` files do not load
   */
  async method(name: string): Promise<GrpcMethod> {
    const methods = await this.serviceMethods();
    const found =
      (Object.hasOwn(methods, name) ? methods[name] : undefined) ??
      Object.values(methods).find((method) => method.originalName === name);
    if (found === undefined || found.requestStream || found.responseStream) {
      const unary = Object.entries(methods)
        .filter(([, method]) => !method.requestStream && !method.responseStream)
        .map(([key]) => key);
      throw new TypeError(
        SessionMessages.invalidArgument(
          'method',
          `a unary method of ${this.service.service} (${unary.join(', ')})`,
          name,
        ),
      );
    }
    return found;
  }

  /**
   * A method of the handshake service.
   *
   * @param name `Open` or `Close`
   * @returns its definition
   * @throws {MeshClientError} when the peers are missing
   */
  async handshakeMethod(name: 'Open' | 'Close'): Promise<GrpcMethod> {
    const { protoLoader } = await loadGrpcPeers(this.service.id);
    return (await handshakeMethods(protoLoader))[name];
  }

  /**
   * Sends one unary call with the client's deadline.
   *
   * @param path the full method path
   * @param bytes the serialised request
   * @param entries metadata to send
   * @param deserialize how to read the answer
   * @returns the decoded answer
   * @throws what grpc-js reports for a status other than OK (a `ServiceError`)
   */
  async unary(
    path: string,
    bytes: Buffer,
    entries: Readonly<Record<string, string>>,
    deserialize: (bytes: Buffer) => unknown,
  ): Promise<unknown> {
    const peers = await loadGrpcPeers(this.service.id);
    const client = this.client(peers);
    const metadata = new peers.grpc.Metadata();
    for (const [key, value] of Object.entries(entries)) metadata.set(key, value);
    const deadline = Date.now() + this.timeout;
    return new Promise((resolve, reject) => {
      client.makeUnaryRequest(
        path,
        asSerialised,
        deserialize,
        bytes,
        metadata,
        { deadline },
        (error, value) => (error === null ? resolve(value) : reject(error)),
      );
    });
  }

  /** Closes the channel; a later call opens a new one. */
  close(): void {
    this.#client?.close();
    this.#client = undefined;
  }

  private client({ grpc }: GrpcPeers): GrpcClientLike {
    const { address, credentials, channelOptions } = this.service;
    // A copy: grpc-js deletes `interceptors` from the options object it is given.
    this.#client ??= new grpc.Client(address, credentials ?? grpc.credentials.createInsecure(), {
      ...channelOptions,
    });
    return this.#client;
  }

  /** The configured service's methods, from its `.proto` files, loaded once. */
  private serviceMethods(): Promise<Record<string, GrpcMethod>> {
    this.#methods ??= this.loadService().catch((error: unknown) => {
      this.#methods = undefined;
      throw error;
    });
    return this.#methods;
  }

  private async loadService(): Promise<Record<string, GrpcMethod>> {
    const { id, protoPath, loader, service } = this.service;
    const { protoLoader } = await loadGrpcPeers(id);
    let definition: Record<string, object>;
    try {
      definition = await protoLoader.load([...protoPath], { ...loader });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new MeshClientError(id, MeshClientMessages.clientProtoUnloadable(id, reason), {
        cause: error,
      });
    }
    const found = Object.hasOwn(definition, service) ? definition[service] : undefined;
    if (found === undefined || 'format' in found) {
      const services = Object.keys(definition).filter((name) => !('format' in definition[name]));
      throw new MeshClientError(
        id,
        MeshClientMessages.clientServiceNotInProto(id, service, services),
      );
    }
    return found as Record<string, GrpcMethod>;
  }
}
