import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { redactDumps } from '../core/redacted.js';
import { SessionMessages } from '../core/session.messages.js';
import { ClientTelemetry } from './client-telemetry.js';
import { MeshClientMessages } from './mesh-client.messages.js';
import { MESH_CLIENT_MODULE_OPTIONS } from './mesh-client.module-definition.js';
import {
  resolveMeshClientOptions,
  type MeshClientModuleOptions,
  type ResolvedMeshClientOptions,
} from './mesh-client.options.js';
import { GrpcMeshConnection } from './grpc-mesh-connection.js';
import { GrpcTransport } from './grpc-transport.js';
import { HttpMeshConnection } from './http-mesh-connection.js';
import type { MeshConnection } from './mesh-connection.js';

/**
 * Calls other services of the mesh, over HTTP or gRPC, with signed requests. It handshakes
 * lazily with each service (pinned Ed25519 identities, X25519, HKDF-SHA256) and signs every
 * request or unary call with the session key (RFC 9421, hmac-sha256). At application shutdown
 * it ends its sessions and closes its gRPC channels. `@grpc/grpc-js` and `@grpc/proto-loader`
 * are loaded on the first gRPC call only. With OpenTelemetry (the `telemetry` option), its
 * handshakes are counted, timed and traced, and every call carries the W3C trace context.
 * `util.inspect`, `console.log`, Nest's `Logger` and `JSON.stringify` show no key.
 *
 * @example
 * ```ts
 * // In Nest: MeshClientModule.forRoot({...}), then inject MeshClient.
 * const reply = await client.connect('greeter').call('greet', { name: 'World' });
 * const hello = await client.connect('greeter-grpc').call('Greet', { name: 'World' });
 *
 * // Outside Nest:
 * const client = new MeshClient({ serviceId: 'caller', privateKey, services });
 * await client.disconnectAll();
 * ```
 */
@Injectable()
export class MeshClient implements OnApplicationShutdown {
  /** The validated options, private key included: a private field, which no generic dump sees. */
  readonly #options: ResolvedMeshClientOptions;
  /** Reports sessions that could not be ended at shutdown. */
  protected readonly logger = new Logger('MeshClient');
  private readonly connections = new Map<string, MeshConnection>();
  private readonly transports = new Map<string, GrpcTransport>();
  /** Shared by the connections: loaded on the first handshake. */
  private readonly telemetry: ClientTelemetry;

  /**
   * @param options the client options
   * @throws {Error} naming the first bad option
   */
  constructor(@Inject(MESH_CLIENT_MODULE_OPTIONS) options: MeshClientModuleOptions) {
    this.#options = resolveMeshClientOptions(options);
    this.telemetry = new ClientTelemetry(
      this.#options.telemetry,
      [...this.#options.services.values()].map((service) => service.serverId),
    );
  }

  /** The validated options. */
  get options(): ResolvedMeshClientOptions {
    return this.#options;
  }

  static {
    // Keeps the private identity key and the session keys out of `console.log` and the logs.
    redactDumps(this, (self) => ({
      serviceId: self.#options.serviceId,
      services: [...self.#options.services.keys()],
    }));
  }

  /**
   * The connection to a configured service. Nothing is sent until its first call.
   *
   * @param serviceId a key of the `services` option
   * @returns the same connection object on every call for that service: an
   *   `HttpMeshConnection` for a `{ url }` service, a `GrpcMeshConnection` for a `{ grpc }` one
   * @throws {TypeError} when the service is not configured
   */
  connect(serviceId: string): MeshConnection {
    let connection = this.connections.get(serviceId);
    if (connection === undefined) {
      const service =
        typeof serviceId === 'string' ? this.#options.services.get(serviceId) : undefined;
      if (service === undefined) {
        throw new TypeError(
          SessionMessages.invalidArgument(
            'serviceId',
            `one of the configured services (${[...this.#options.services.keys()].join(', ')})`,
            serviceId,
          ),
        );
      }
      if (service.transport === 'grpc') {
        const transport = new GrpcTransport(service, this.#options.timeout);
        this.transports.set(serviceId, transport);
        connection = new GrpcMeshConnection(this.#options, service, transport, this.telemetry);
      } else {
        connection = new HttpMeshConnection(this.#options, service, this.telemetry);
      }
      this.connections.set(serviceId, connection);
    }
    return connection;
  }

  /**
   * Ends the session with a service on the server.
   *
   * @param serviceId a configured service
   * @returns whether the server ended a session
   * @throws {MeshRequestError} when the server cannot be reached or answers an error
   */
  async disconnect(serviceId: string): Promise<boolean> {
    return (await this.connections.get(serviceId)?.disconnect()) ?? false;
  }

  /**
   * Ends every open session, then closes the gRPC channels (a later call opens them again).
   * Failures are logged, not thrown.
   */
  async disconnectAll(): Promise<void> {
    await Promise.all(
      [...this.connections.values()].map((connection) =>
        connection.disconnect().catch((error: unknown) => {
          this.logger.warn(
            MeshClientMessages.clientDisconnectFailed(
              connection.serviceId,
              error instanceof Error ? error.message : String(error),
            ),
          );
        }),
      ),
    );
    for (const transport of this.transports.values()) transport.close();
  }

  /** Ends the sessions when the app shuts down. */
  async onApplicationShutdown(): Promise<void> {
    await this.disconnectAll();
  }
}
