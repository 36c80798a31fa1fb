import type { KeyObject } from 'node:crypto';
import type { OptionChecks } from '../core/option-checks.js';
import { MESH_HANDSHAKE_PATHS } from '../protocol/grpc/handshake-proto.js';
import type { IdentityKeyInput } from '../protocol/handshake/identity-keys.js';

/**
 * `@grpc/proto-loader` options, as Nest's gRPC transport takes them in `loader`. They decide the
 * shape of the messages `call()` takes and returns (field case, longs, enums, defaults).
 */
export interface MeshProtoLoaderOptions {
  keepCase?: boolean;
  longs?: StringConstructor | NumberConstructor;
  enums?: StringConstructor;
  bytes?: StringConstructor | ArrayConstructor;
  defaults?: boolean;
  arrays?: boolean;
  objects?: boolean;
  oneofs?: boolean;
  json?: boolean;
  includeDirs?: string[];
  alternateCommentMode?: boolean;
  preferTrailingComment?: boolean;
}

/** The part of grpc-js's `ChannelCredentials` the options check (the package is optional). */
export interface GrpcChannelCredentialsLike {
  _isSecure(): boolean;
}

/** Where a gRPC service listens, and what its `.proto` files say. */
export interface MeshGrpcTarget {
  /** The server's address, as grpc-js takes it: `127.0.0.1:50051`, `dns:///greeter:50051`. */
  address: string;
  /** The `.proto` file(s) that define the service. */
  protoPath: string | readonly string[];
  /** The service's fully qualified name, such as `greeter.v1.Greeter`. */
  service: string;
  /**
   * How to load the `.proto` files; use the server's `loader` options.
   *
   * @default {} (proto-loader's defaults)
   */
  loader?: MeshProtoLoaderOptions;
  /**
   * The channel's credentials, such as `grpc.credentials.createSsl(...)`.
   *
   * @default grpc.credentials.createInsecure()
   */
  credentials?: GrpcChannelCredentialsLike;
  /** grpc-js channel options, such as `{ 'grpc.keepalive_time_ms': 10_000 }`. */
  channelOptions?: Record<string, unknown>;
}

/**
 * A service reached over gRPC: the handshake goes through `mesh_session.v1.MeshHandshake/Open`
 * on the same server, and every unary call is signed.
 *
 * @example
 * ```ts
 * services: {
 *   greeter: {
 *     grpc: { address: 'greeter:50051', protoPath: 'protos/greeter.proto', service: 'greeter.v1.Greeter' },
 *     publicKey: process.env.GREETER_PUBLIC_KEY,
 *   },
 * }
 * ```
 */
export interface MeshGrpcServiceOptions {
  /** Where the service listens and how to load its definition. */
  grpc: MeshGrpcTarget;
  /** The service's Ed25519 public key (PEM), or several while it rotates its key. */
  publicKey: IdentityKeyInput | readonly IdentityKeyInput[];
  /**
   * The service's own id (its `serviceId` option), when this entry's key differs: for example
   * one service reached over both transports, under two keys.
   *
   * @default the entry's key
   */
  serviceId?: string;
}

/** A gRPC service after validation. */
export interface ResolvedGrpcServiceOptions {
  readonly transport: 'grpc';
  readonly id: string;
  /** The id the service proves in the handshake: `serviceId`, or the entry's key. */
  readonly serverId: string;
  readonly publicKeys: readonly KeyObject[];
  readonly address: string;
  readonly protoPath: readonly string[];
  readonly service: string;
  readonly loader: Readonly<MeshProtoLoaderOptions>;
  readonly credentials: GrpcChannelCredentialsLike | undefined;
  readonly channelOptions: Readonly<Record<string, unknown>>;
  /** The handshake's method path on the server, which gRPC fixes. */
  readonly handshakePath: string;
}

/** The keys of a gRPC service entry. */
export const GRPC_SERVICE_KEYS = ['grpc', 'publicKey', 'serviceId'] as const;
const TARGET_KEYS = [
  'address',
  'protoPath',
  'service',
  'loader',
  'credentials',
  'channelOptions',
] as const;
const LOADER_FLAGS = [
  'keepCase',
  'defaults',
  'arrays',
  'objects',
  'oneofs',
  'json',
  'alternateCommentMode',
  'preferTrailingComment',
] as const;
const LOADER_TYPES = ['longs', 'enums', 'bytes'] as const;
const LOADER_KEYS = [...LOADER_FLAGS, ...LOADER_TYPES, 'includeDirs'];
const SERVICE_NAME = /^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$/;

/**
 * Checks the `grpc` part of a service entry.
 *
 * @param check the client's option checks
 * @param option the entry's path, such as `services["greeter"]`
 * @param ids the entry's key, and the id the service proves
 * @param grpc what the entry's `grpc` holds
 * @param publicKeys the entry's keys, loaded
 * @returns the resolved service
 * @throws {Error} naming the first bad or unknown option
 * @example
 * ```ts
 * resolveGrpcService(check, 'services["greeter"]', { id: 'greeter', serverId: 'greeter' }, service.grpc, keys);
 * ```
 */
export function resolveGrpcService(
  check: OptionChecks,
  option: string,
  { id, serverId }: { id: string; serverId: string },
  grpc: MeshGrpcTarget,
  publicKeys: readonly KeyObject[],
): ResolvedGrpcServiceOptions {
  const path = `${option}.grpc`;
  check.knownKeys(path, grpc, TARGET_KEYS, 'an object { address, protoPath, service }');
  const { address, service, credentials } = grpc;
  if (typeof address !== 'string' || !/^\S{1,512}$/.test(address) || /^https?:/i.test(address)) {
    check.fail(`${path}.address`, 'a gRPC target such as "127.0.0.1:50051"', address);
  }
  if (typeof service !== 'string' || !SERVICE_NAME.test(service)) {
    check.fail(
      `${path}.service`,
      'a fully qualified service name such as "pkg.v1.Greeter"',
      service,
    );
  }
  if (
    credentials !== undefined &&
    typeof (credentials as Partial<GrpcChannelCredentialsLike> | null)?._isSecure !== 'function'
  ) {
    check.fail(`${path}.credentials`, 'grpc-js ChannelCredentials', credentials);
  }
  const channelOptions: unknown = grpc.channelOptions ?? {};
  if (
    channelOptions === null ||
    typeof channelOptions !== 'object' ||
    Array.isArray(channelOptions)
  ) {
    check.fail(`${path}.channelOptions`, 'an object of grpc-js channel options', channelOptions);
  }
  return Object.freeze({
    transport: 'grpc',
    id,
    serverId,
    publicKeys,
    address,
    protoPath: protoPaths(check, `${path}.protoPath`, grpc.protoPath),
    service,
    loader: loaderOptions(check, `${path}.loader`, grpc.loader),
    credentials,
    channelOptions: Object.freeze({ ...channelOptions }),
    handshakePath: MESH_HANDSHAKE_PATHS.open,
  });
}

function protoPaths(check: OptionChecks, option: string, value: unknown): readonly string[] {
  const paths = Array.isArray(value) ? (value as unknown[]) : [value];
  if (paths.length === 0 || paths.some((p) => typeof p !== 'string' || p.length === 0)) {
    check.fail(option, 'a path to a .proto file, or a non-empty list of them', value);
  }
  return Object.freeze([...(paths as string[])]);
}

function loaderOptions(
  check: OptionChecks,
  option: string,
  value: MeshProtoLoaderOptions = {},
): Readonly<MeshProtoLoaderOptions> {
  check.knownKeys(option, value, LOADER_KEYS, 'proto-loader options');
  for (const flag of LOADER_FLAGS) {
    if (value[flag] !== undefined) check.boolean(`${option}.${flag}`, value[flag], false);
  }
  for (const type of LOADER_TYPES) {
    if (value[type] !== undefined && typeof value[type] !== 'function') {
      check.fail(`${option}.${type}`, 'String, Number or Array', value[type]);
    }
  }
  const { includeDirs } = value;
  if (
    includeDirs !== undefined &&
    (!Array.isArray(includeDirs) || includeDirs.some((dir) => typeof dir !== 'string'))
  ) {
    check.fail(`${option}.includeDirs`, 'a list of directories', includeDirs);
  }
  return Object.freeze({ ...value });
}
