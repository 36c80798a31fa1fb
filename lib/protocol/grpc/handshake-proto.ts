import { fileURLToPath } from 'node:url';

/**
 * Absolute path of the handshake service's `.proto`, shipped in the package
 * (`nestjs-mesh-session/proto/mesh_handshake.proto`).
 */
export const MESH_HANDSHAKE_PROTO_PATH = fileURLToPath(
  new URL('../../../proto/mesh_handshake.proto', import.meta.url),
);

/** The proto package of the handshake service. */
export const MESH_HANDSHAKE_PACKAGE = 'mesh_session.v1';

/** The handshake service's name, as `@GrpcMethod()` takes it. */
export const MESH_HANDSHAKE_SERVICE = 'MeshHandshake';

/** Full method paths of the handshake service. */
export const MESH_HANDSHAKE_PATHS = Object.freeze({
  open: `/${MESH_HANDSHAKE_PACKAGE}.${MESH_HANDSHAKE_SERVICE}/Open`,
  close: `/${MESH_HANDSHAKE_PACKAGE}.${MESH_HANDSHAKE_SERVICE}/Close`,
});

/**
 * How the handshake `.proto` is always loaded, whatever the app's own loader options: hello
 * fields in camelCase as in the JSON hello, 64-bit times as numbers, absent fields absent.
 */
export const MESH_HANDSHAKE_LOADER_OPTIONS = Object.freeze({
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: false,
  oneofs: true,
});
