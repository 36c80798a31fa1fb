/*
 * nestjs-mesh-session/grpc: the handshake and signed calls over gRPC. It needs the optional
 * peers @nestjs/microservices, @grpc/grpc-js and @grpc/proto-loader; the root entry never loads
 * them.
 */

// Server
export { MeshSessionGrpcModule } from './grpc/mesh-session-grpc.module.js';
export { MeshHandshakeController } from './grpc/mesh-handshake.controller.js';
export {
  meshGrpcOptions,
  type MeshGrpcMicroserviceOptions,
  type MeshGrpcOptions,
} from './grpc/mesh-grpc.options.js';
export { GrpcMessages } from './grpc/grpc.messages.js';

// Client, for Nest's own ClientGrpc stubs
export { meshGrpcInterceptor } from './grpc/mesh-grpc.interceptor.js';

// The handshake's proto
export {
  MESH_HANDSHAKE_LOADER_OPTIONS,
  MESH_HANDSHAKE_PACKAGE,
  MESH_HANDSHAKE_PATHS,
  MESH_HANDSHAKE_PROTO_PATH,
  MESH_HANDSHAKE_SERVICE,
} from './protocol/grpc/handshake-proto.js';

// Message bytes, for signature checks
export {
  withMessageBytes,
  type PackageDefinitionLike,
} from './protocol/grpc/package-definition.js';
export { messageBytesOf, isUndecodableMessage } from './protocol/grpc/message-bytes.js';
