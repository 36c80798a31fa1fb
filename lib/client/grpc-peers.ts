import {
  MESH_HANDSHAKE_LOADER_OPTIONS,
  MESH_HANDSHAKE_PACKAGE,
  MESH_HANDSHAKE_PROTO_PATH,
  MESH_HANDSHAKE_SERVICE,
} from '../protocol/grpc/handshake-proto.js';
import type {
  MethodDefinitionLike,
  PackageDefinitionLike,
} from '../protocol/grpc/package-definition.js';
import { MeshClientError } from './mesh-client.errors.js';
import { MeshClientMessages } from './mesh-client.messages.js';

/** The part of grpc-js's `Metadata` the client uses. */
export interface GrpcMetadataLike {
  set(key: string, value: string): void;
}

/** The part of a grpc-js `Client` the client uses. */
export interface GrpcClientLike {
  makeUnaryRequest(
    method: string,
    serialize: (value: Buffer) => Buffer,
    deserialize: (bytes: Buffer) => unknown,
    argument: Buffer,
    metadata: GrpcMetadataLike,
    options: { deadline: number },
    callback: (error: Error | null, value?: unknown) => void,
  ): unknown;
  close(): void;
}

/** The part of `@grpc/grpc-js` the client uses (the package is an optional peer). */
export interface GrpcJsLike {
  Client: new (address: string, credentials: unknown, options: object) => GrpcClientLike;
  Metadata: new () => GrpcMetadataLike;
  credentials: { createInsecure(): unknown };
}

/** The part of `@grpc/proto-loader` the client uses. */
export interface ProtoLoaderLike {
  load(path: string | string[], options?: object): Promise<PackageDefinitionLike>;
}

/** A unary or streaming method of a loaded service. */
export interface GrpcMethod extends MethodDefinitionLike {
  requestSerialize: (value: unknown) => Buffer;
  responseDeserialize: (bytes: Buffer) => unknown;
  originalName?: string;
}

/** Both optional peers, loaded. */
export interface GrpcPeers {
  readonly grpc: GrpcJsLike;
  readonly protoLoader: ProtoLoaderLike;
}

/** How the peers are imported; tests pass their own. */
export type GrpcPeerImport = () => Promise<[unknown, unknown]>;

const importPeers: GrpcPeerImport = () =>
  Promise.all([import('@grpc/grpc-js'), import('@grpc/proto-loader')]);

let peers: Promise<GrpcPeers> | undefined;
let handshake: Promise<Record<string, GrpcMethod>> | undefined;

/**
 * Loads `@grpc/grpc-js` and `@grpc/proto-loader`, once, on the first gRPC call: the root entry
 * must load without them.
 *
 * @param serviceId the service being called, for the error
 * @param load how to import them; by default `import()`, once for the process
 * @returns both packages
 * @throws {MeshClientError} saying what to install when either is missing
 * @example
 * ```ts
 * const { grpc, protoLoader } = await loadGrpcPeers('greeter');
 * ```
 */
export function loadGrpcPeers(serviceId: string, load?: GrpcPeerImport): Promise<GrpcPeers> {
  if (load !== undefined) return importWith(serviceId, load);
  peers ??= importWith(serviceId, importPeers).catch((error: unknown) => {
    peers = undefined;
    throw error;
  });
  return peers;
}

async function importWith(serviceId: string, load: GrpcPeerImport): Promise<GrpcPeers> {
  try {
    const [grpc, protoLoader] = await load();
    return {
      grpc: moduleOf<GrpcJsLike>(grpc),
      protoLoader: moduleOf<ProtoLoaderLike>(protoLoader),
    };
  } catch (error) {
    throw new MeshClientError(serviceId, MeshClientMessages.clientGrpcMissing(serviceId), {
      cause: error,
    });
  }
}

/** A CommonJS package imported from ESM: its exports, whether or not they were named. */
function moduleOf<T>(namespace: unknown): T {
  const { default: exports } = namespace as { default?: T };
  return exports ?? (namespace as T);
}

/**
 * The handshake service's methods (`Open`, `Close`), loaded once with the loader options the
 * handshake always uses.
 *
 * @param protoLoader the loaded `@grpc/proto-loader`
 * @returns the methods by name
 */
export function handshakeMethods(
  protoLoader: ProtoLoaderLike,
): Promise<Record<string, GrpcMethod>> {
  handshake ??= protoLoader
    .load(MESH_HANDSHAKE_PROTO_PATH, { ...MESH_HANDSHAKE_LOADER_OPTIONS })
    .then(
      (definition) =>
        definition[`${MESH_HANDSHAKE_PACKAGE}.${MESH_HANDSHAKE_SERVICE}`] as Record<
          string,
          GrpcMethod
        >,
      (error: unknown) => {
        handshake = undefined;
        throw error;
      },
    );
  return handshake;
}
