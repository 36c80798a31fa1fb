import { rememberMessageBytes, undecodableMessage } from './message-bytes.js';

/** A method of a gRPC package definition, as `@grpc/proto-loader` builds it. */
export interface MethodDefinitionLike {
  path: string;
  requestStream: boolean;
  responseStream: boolean;
  requestSerialize: (value: never) => Buffer;
  requestDeserialize: (bytes: Buffer) => unknown;
  [key: string]: unknown;
}

/**
 * A gRPC package definition (`@grpc/proto-loader`'s `PackageDefinition`): fully qualified
 * names of services, messages and enums.
 */
export type PackageDefinitionLike = Record<string, object>;

/**
 * A copy of a package definition whose request deserialisers remember the bytes each message
 * was decoded from, so that `SessionGuard` can check a signed call's `content-digest` against
 * the message exactly as sent. Messages that cannot be decoded reach the guard as a marked
 * stand-in, which it answers with INVALID_ARGUMENT rather than the server's INTERNAL.
 *
 * Nest takes it through the gRPC transport's `packageDefinition` option (`meshGrpcOptions()`
 * does this).
 *
 * @param definition the package definition from `protoLoader.loadSync()`
 * @returns a new definition; the given one is left unchanged
 * @example
 * ```ts
 * const packageDefinition = withMessageBytes(protoLoader.loadSync(protoPath));
 * app.connectMicroservice({ transport: Transport.GRPC, options: { package: 'greeter.v1', packageDefinition } });
 * ```
 */
export function withMessageBytes<T extends PackageDefinitionLike>(definition: T): T {
  const copy: PackageDefinitionLike = {};
  for (const [name, entry] of Object.entries(definition)) {
    copy[name] = isService(entry) ? wrapService(entry) : entry;
  }
  return copy as T;
}

function wrapService(service: Record<string, MethodDefinitionLike>): object {
  const wrapped: Record<string, MethodDefinitionLike> = {};
  for (const [name, method] of Object.entries(service)) {
    const decode = method.requestDeserialize;
    wrapped[name] = {
      ...method,
      requestDeserialize: (bytes: Buffer): unknown => {
        let message: unknown;
        try {
          message = decode(bytes);
        } catch {
          return undecodableMessage();
        }
        rememberMessageBytes(message, bytes);
        return message;
      },
    };
  }
  return wrapped;
}

/** A service definition: an object of method definitions (messages and enums have `format`). */
function isService(entry: object): entry is Record<string, MethodDefinitionLike> {
  if ('format' in entry) return false;
  const methods = Object.values(entry);
  return (
    methods.length > 0 &&
    methods.every(
      (method: unknown) =>
        typeof method === 'object' &&
        method !== null &&
        typeof (method as MethodDefinitionLike).requestDeserialize === 'function' &&
        typeof (method as MethodDefinitionLike).path === 'string',
    )
  );
}
