import { loadSync, type PackageDefinition } from '@grpc/proto-loader';
import { Transport, type GrpcOptions } from '@nestjs/microservices';
import { describeValue } from '../core/describe-value.js';
import {
  MESH_HANDSHAKE_LOADER_OPTIONS,
  MESH_HANDSHAKE_PACKAGE,
  MESH_HANDSHAKE_PROTO_PATH,
} from '../protocol/grpc/handshake-proto.js';
import { withMessageBytes } from '../protocol/grpc/package-definition.js';
import { GrpcMessages } from './grpc.messages.js';

/**
 * What {@link meshGrpcOptions} takes: Nest's gRPC transport options, for the app's own
 * services. `package` may be left out when the server serves only the handshake.
 */
export type MeshGrpcOptions = Omit<GrpcOptions['options'], 'package'> & {
  package?: string | string[];
};

/** What {@link meshGrpcOptions} returns, for `connectMicroservice()` or `createMicroservice()`. */
export interface MeshGrpcMicroserviceOptions extends GrpcOptions {
  transport: Transport.GRPC;
  options: GrpcOptions['options'] & { packageDefinition: PackageDefinition };
}

/**
 * Nest's gRPC transport options for an app that serves the handshake (`MeshSessionGrpcModule`)
 * and checks sessions on its own services (`SessionGuard`): the app's protos, loaded with its
 * `loader` options (or its `packageDefinition`), with the handshake's proto beside them (always
 * loaded with `MESH_HANDSHAKE_LOADER_OPTIONS`), `package` extended with `mesh_session.v1`, and
 * the whole definition passed through `withMessageBytes()`, so that signed calls are checked
 * against each message's bytes as sent. Every other option (`url`, `credentials`, limits,
 * keepalive, ...) is passed on unchanged.
 *
 * @param options Nest's gRPC options for the app's own services
 * @returns `{ transport: Transport.GRPC, options }` with a `packageDefinition` (no `protoPath`)
 * @throws {TypeError} on options of the wrong kind, `protoPath` with `packageDefinition`, or a
 *   `package` that the protos do not define
 * @throws {Error} when a proto in `protoPath` cannot be read or parsed
 * @example
 * ```ts
 * app.connectMicroservice(
 *   meshGrpcOptions({
 *     url: '0.0.0.0:50051',
 *     package: 'greeter.v1',
 *     protoPath: join(import.meta.dirname, 'greeter.proto'),
 *     loader: { keepCase: true },
 *   }),
 * );
 * await app.startAllMicroservices();
 * ```
 */
export function meshGrpcOptions(options: MeshGrpcOptions): MeshGrpcMicroserviceOptions {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(
      GrpcMessages.optionInvalid('the options', "Nest's gRPC options", describeValue(options)),
    );
  }
  const { protoPath, packageDefinition, loader, package: packages, ...rest } = options;
  const names = packageNames(packages);
  const own = appDefinition(protoPath, packageDefinition, loader, names.length > 0);
  const definition: PackageDefinition = {
    ...own,
    ...loadSync(MESH_HANDSHAKE_PROTO_PATH, { ...MESH_HANDSHAKE_LOADER_OPTIONS }),
  };
  for (const name of names) {
    if (!Object.keys(definition).some((key) => key.startsWith(`${name}.`))) {
      throw new TypeError(GrpcMessages.packageUnknown(name));
    }
  }
  return {
    transport: Transport.GRPC,
    options: {
      ...rest,
      package: [...new Set([...names, MESH_HANDSHAKE_PACKAGE])],
      packageDefinition: withMessageBytes(definition),
    },
  };
}

/** The app's package names, checked. */
function packageNames(value: unknown): string[] {
  if (value === undefined) return [];
  const names = Array.isArray(value) ? (value as unknown[]) : [value];
  for (const name of names) {
    if (typeof name !== 'string' || !/^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*$/.test(name)) {
      throw new TypeError(
        GrpcMessages.optionInvalid(
          'package',
          "a proto package name (such as 'greeter.v1') or an array of them",
          describeValue(name),
        ),
      );
    }
  }
  return names as string[];
}

/** The app's own package definition: given, loaded from `protoPath`, or none. */
function appDefinition(
  protoPath: unknown,
  packageDefinition: unknown,
  loader: unknown,
  required: boolean,
): PackageDefinition {
  if (protoPath !== undefined && packageDefinition !== undefined) {
    throw new TypeError(GrpcMessages.optionsExclusive());
  }
  if (packageDefinition !== undefined) {
    if (packageDefinition === null || typeof packageDefinition !== 'object') {
      throw new TypeError(
        GrpcMessages.optionInvalid(
          'packageDefinition',
          "a package definition from @grpc/proto-loader's loadSync()",
          describeValue(packageDefinition),
        ),
      );
    }
    return packageDefinition as PackageDefinition;
  }
  if (protoPath === undefined) {
    if (required) throw new TypeError(GrpcMessages.protosMissing());
    return {};
  }
  const paths = Array.isArray(protoPath) ? (protoPath as unknown[]) : [protoPath];
  if (paths.length === 0 || !paths.every((path) => typeof path === 'string' && path !== '')) {
    throw new TypeError(
      GrpcMessages.optionInvalid(
        'protoPath',
        'the path of a .proto file or an array of them',
        describeValue(protoPath),
      ),
    );
  }
  if (loader !== undefined && (loader === null || typeof loader !== 'object')) {
    throw new TypeError(
      GrpcMessages.optionInvalid('loader', "proto-loader's options", describeValue(loader)),
    );
  }
  try {
    return loadSync(paths as string[], loader as Parameters<typeof loadSync>[1]);
  } catch (error) {
    throw new Error(
      GrpcMessages.protoLoadFailed(error instanceof Error ? error.message : String(error)),
      {
        cause: error,
      },
    );
  }
}
