/**
 * Injection token of the `HandshakeService` that `MeshSessionGrpcModule` checked at startup:
 * present, which it is only when `MeshSessionModule` has the `handshake` option.
 */
export const MESH_GRPC_HANDSHAKE = Symbol('MESH_GRPC_HANDSHAKE');
