import type { ExecutionContext } from '@nestjs/common';

/** The part of grpc-js's `Metadata` the guard uses (the package is an optional peer). */
export interface GrpcMetadataLike {
  get(key: string): (string | Buffer)[];
  set(key: string, value: string): void;
}

/** The part of a grpc-js server call the guard uses. */
export interface GrpcServerCallLike {
  getPath(): string;
}

/** A gRPC call as the guard sees it: Nest hands a `@GrpcMethod` handler these three. */
export interface GrpcCall {
  /** The decoded request message (an Observable for client-streaming calls). */
  readonly message: unknown;
  /** The call's metadata. */
  readonly metadata: GrpcMetadataLike;
  /** The server call, which also carries the checked session for `@CurrentSession()`. */
  readonly call: GrpcServerCallLike;
  /** The full method path, such as `/greeter.v1.Greeter/Greet`. */
  readonly path: string;
}

/**
 * The gRPC call behind an `rpc` execution context, or `undefined` for any other transport
 * (TCP, NATS, Redis, RabbitMQ, ...), whose payload must not be read as credentials. Told apart
 * by shape: Nest passes gRPC handlers the message, grpc-js `Metadata` and the server call.
 *
 * @param context the handler's execution context
 * @returns the call's parts, or `undefined` when it is not a gRPC call
 */
export function readGrpcCall(context: ExecutionContext): GrpcCall | undefined {
  const metadata: unknown = context.getArgByIndex(1);
  const call: unknown = context.getArgByIndex(2);
  if (!isMetadata(metadata) || !isServerCall(call)) return undefined;
  const path = call.getPath();
  if (typeof path !== 'string') return undefined;
  return { message: context.getArgByIndex(0), metadata, call, path };
}

/**
 * The metadata entries a check reads, as the one string each should hold. A key sent several
 * times stays an array, which every check refuses as malformed; a binary value reads as absent.
 *
 * @param metadata the call's metadata
 * @param keys the lower-case keys to read
 * @returns the entries by key
 */
export function metadataHeaders(
  metadata: GrpcMetadataLike,
  keys: readonly string[],
): Record<string, string | string[] | undefined> {
  const headers: Record<string, string | string[] | undefined> = {};
  for (const key of keys) {
    const values = metadata.get(key);
    if (values.length === 0) continue;
    // The usual case, one value, allocates nothing: this runs for every signed call.
    headers[key] =
      values.length === 1
        ? typeof values[0] === 'string'
          ? values[0]
          : undefined
        : values.filter((value): value is string => typeof value === 'string');
  }
  return headers;
}

/**
 * One metadata entry as the single string it should hold.
 *
 * @param metadata the call's metadata
 * @param key the lower-case key
 * @returns the value, or `undefined` when absent, binary or sent more than once
 */
export function metadataValue(metadata: GrpcMetadataLike, key: string): string | undefined {
  const values = metadata.get(key);
  return values.length === 1 && typeof values[0] === 'string' ? values[0] : undefined;
}

/**
 * What a context is, for the error on an unsupported one: its type and, for `rpc`, the class of
 * the transport's context argument (`TcpContext`, `NatsContext`, ...).
 *
 * @param context the handler's execution context
 * @returns such as `rpc (TcpContext)` or `ws`
 */
export function describeContext(context: ExecutionContext): string {
  const type = context.getType<string>();
  if (type !== 'rpc') return type;
  const name = classNameOf(context.getArgByIndex(1));
  return name === undefined ? type : `${type} (${name})`;
}

/**
 * The class name of a transport's context object, read from its prototype: a payload's own
 * `constructor` field is never trusted.
 */
function classNameOf(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const prototype: unknown = Object.getPrototypeOf(value);
  if (prototype === null || prototype === Object.prototype) return undefined;
  const constructor: unknown = Object.getOwnPropertyDescriptor(prototype, 'constructor')?.value;
  if (typeof constructor !== 'function') return undefined;
  const name = constructor.name;
  return typeof name === 'string' && /^[\w$]{1,64}$/.test(name) ? name : undefined;
}

/**
 * Whether a gRPC handler's first argument is a stream of messages (a client-streaming call),
 * rather than one decoded message.
 *
 * @param message the handler's first argument
 * @returns `true` for an Observable or another subscribable stream
 */
export function isMessageStream(message: unknown): boolean {
  return (
    typeof message === 'object' &&
    message !== null &&
    typeof (message as { subscribe?: unknown }).subscribe === 'function'
  );
}

function isMetadata(value: unknown): value is GrpcMetadataLike {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as GrpcMetadataLike).get === 'function' &&
    typeof (value as GrpcMetadataLike).set === 'function' &&
    typeof (value as { getMap?: unknown }).getMap === 'function' &&
    typeof (value as { toHttp2Headers?: unknown }).toHttp2Headers === 'function'
  );
}

function isServerCall(value: unknown): value is GrpcServerCallLike {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as GrpcServerCallLike).getPath === 'function' &&
    typeof (value as { getPeer?: unknown }).getPeer === 'function'
  );
}
