/**
 * Texts of `MeshClient`: why a call failed, and log lines. Its option errors are the shared
 * `OptionMessages`.
 *
 * @example
 * ```ts
 * MeshClientMessages.clientHandshakeFailed('greeter', MeshClientMessages.clientTimeout(5_000));
 * // 'Handshake with greeter failed: no answer within 5000 ms'
 * ```
 */
export const MeshClientMessages = {
  /** The client's handshake failed. */
  clientHandshakeFailed: (serviceId: string, reason: string): string =>
    `Handshake with ${serviceId} failed: ${reason}`,
  /** A request through the client failed. */
  clientRequestFailed: (serviceId: string, method: string, path: string, reason: string): string =>
    `${method} ${path} on ${serviceId} failed: ${reason}`,
  /** Why a client call failed: the connection failed (refused, reset, DNS...). */
  clientUnreachable: (): string => 'the service cannot be reached',
  /** Why a client call failed: no answer within the client's `timeout`. */
  clientTimeout: (ms: number): string => `no answer within ${ms} ms`,
  /** Why a client call failed: the server answered this status (and this message, if any). */
  clientHttpStatus: (status: number, message?: string): string =>
    message === undefined || message === '' ? `HTTP ${status}` : `HTTP ${status}: ${message}`,
  /** Why `json()` failed on a client response. */
  clientAnswerNotJson: (): string => 'the answer is not JSON',
  /** A gRPC call through the client failed. */
  clientCallFailed: (serviceId: string, path: string, reason: string): string =>
    `${path} on ${serviceId} failed: ${reason}`,
  /** Why a client call failed: the gRPC status it ended with. */
  clientGrpcStatus: (name: string, details: string): string =>
    details === '' ? name : `${name}: ${details}`,
  /** `request()` on a service configured for gRPC. */
  clientRequestOnGrpc: (serviceId: string): string =>
    `${serviceId} is a gRPC service: request() sends HTTP requests; use call(method, message)`,
  /** The gRPC peers are not installed. */
  clientGrpcMissing: (serviceId: string): string =>
    `MeshClient needs the optional peer dependencies "@grpc/grpc-js" and "@grpc/proto-loader" to call the gRPC service ${serviceId}: run \`npm install @grpc/grpc-js @grpc/proto-loader\``,
  /** The service's `.proto` files cannot be loaded. */
  clientProtoUnloadable: (serviceId: string, reason: string): string =>
    `Could not load the .proto files of ${serviceId}: ${reason}`,
  /** The service's `.proto` files do not define the configured service. */
  clientServiceNotInProto: (serviceId: string, service: string, found: string[]): string =>
    `The .proto files of ${serviceId} define no service ${service} (services: ${
      found.length === 0 ? 'none' : found.join(', ')
    })`,
  /** Log line when disconnecting at shutdown fails. */
  clientDisconnectFailed: (serviceId: string, reason: string): string =>
    `Could not end the session with ${serviceId}: ${reason}`,
} as const;
