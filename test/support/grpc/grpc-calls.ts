import {
  credentials,
  loadPackageDefinition,
  Metadata,
  Client,
  type ServiceError,
} from '@grpc/grpc-js';
import {
  loadSync,
  type Options as LoaderOptions,
  type ServiceDefinition,
} from '@grpc/proto-loader';
import {
  type SignGrpcCallInput,
  type SignGrpcCallOptions,
  signGrpcCall,
} from '../../../lib/index.js';
import { MESH_HANDSHAKE_LOADER_OPTIONS, MESH_HANDSHAKE_PROTO_PATH } from '../../../lib/grpc.js';

/**
 * The test services' proto: `greeter.v1.Greeter` (Greet, Whoami, Public, and Collect, which
 * is client-streaming).
 */
export const GREETER_PROTO_PATH = new URL('./greeter.proto', import.meta.url).pathname;

/** `greeter.v1.Greeter` as proto-loader defines it (default loader options): its codecs. */
export const greeterService = loadSync(GREETER_PROTO_PATH)[
  'greeter.v1.Greeter'
] as ServiceDefinition;

/** A `greeter.v1.GreetRequest`, as proto-loader encodes and decodes it. */
export interface GreetRequest {
  name?: string;
  tags?: string[];
  count?: number;
  blob?: Uint8Array;
}

/**
 * The protobuf bytes of a `GreetRequest`.
 *
 * @param message the message
 */
export function encodeGreetRequest(message: GreetRequest): Buffer {
  return greeterService.Greet.requestSerialize(message);
}

/**
 * The decoder of a greeter method's reply, for {@link rawUnaryCall}.
 *
 * @param path the method path, such as `/greeter.v1.Greeter/Greet`
 */
export function greeterReplyDecoder(path: string): (bytes: Buffer) => Record<string, unknown> {
  const method = greeterService[path.slice(path.lastIndexOf('/') + 1)];
  return (bytes) => method.responseDeserialize(bytes) as Record<string, unknown>;
}

/** A raw grpc-js client of one service, with its methods as grpc-js generates them. */
export type RawGrpcClient = Client & Record<string, (...args: unknown[]) => unknown>;

/**
 * A raw grpc-js client of a service from a proto. Its `close()` closes the channel, even when
 * the service has a method named `Close` (call that one as `Close`).
 *
 * @param url the server, `host:port`
 * @param service the fully qualified service name, such as `greeter.v1.Greeter`
 * @param protoPath the proto that defines it
 * @param loader proto-loader options
 */
export function rawGrpcClient(
  url: string,
  service: string,
  protoPath: string = GREETER_PROTO_PATH,
  loader: LoaderOptions = {},
): RawGrpcClient {
  const root = loadPackageDefinition(loadSync(protoPath, loader)) as Record<string, unknown>;
  const Service = service
    .split('.')
    .reduce<unknown>((node, name) => (node as Record<string, unknown>)[name], root) as new (
    address: string,
    creds: ReturnType<typeof credentials.createInsecure>,
  ) => RawGrpcClient;
  const client = new Service(url, credentials.createInsecure());
  // grpc-js also names each method in lower camel case: a `Close` method shadows `close()`.
  const close = Client.prototype.close;
  Object.defineProperty(client, 'close', { value: () => close.call(client) });
  return client;
}

/**
 * A raw client of the handshake service, its proto loaded as the server loads it.
 *
 * @param url the server, `host:port`
 */
export function rawHandshakeClient(url: string): RawGrpcClient {
  return rawGrpcClient(url, 'mesh_session.v1.MeshHandshake', MESH_HANDSHAKE_PROTO_PATH, {
    ...MESH_HANDSHAKE_LOADER_OPTIONS,
  });
}

/**
 * One unary call, as a promise: the reply, or the grpc-js `ServiceError` (code, details and
 * the trailing metadata).
 *
 * @param client a raw client
 * @param method the method's name on the client, such as `Greet` or `Open`
 * @param message the request message
 * @param metadata the call's metadata
 */
export function unaryCall<T = Record<string, unknown>>(
  client: RawGrpcClient,
  method: string,
  message: object,
  metadata: Metadata = new Metadata(),
): Promise<T> {
  return new Promise((resolve, reject) => {
    client[method](message, metadata, (error: ServiceError | null, reply: T) =>
      error === null ? resolve(reply) : reject(error),
    );
  });
}

/**
 * The error of a call that must fail.
 *
 * @param pending the call
 */
export async function callError(pending: Promise<unknown>): Promise<ServiceError> {
  try {
    await pending;
  } catch (error) {
    return error as ServiceError;
  }
  throw new Error('the call succeeded');
}

/**
 * Metadata holding the given ASCII entries, one value each; `undefined` leaves an entry out.
 *
 * @param entries the entries, by lower-case key
 */
export function metadataOf(entries: Readonly<Record<string, string | undefined>>): Metadata {
  const metadata = new Metadata();
  for (const [key, value] of Object.entries(entries)) {
    if (value !== undefined) metadata.set(key, value);
  }
  return metadata;
}

/**
 * The metadata of a call signed with `signGrpcCall()`.
 *
 * @param input what `signGrpcCall()` takes
 * @param options the form: one `x-mesh-signature` entry by default, or the RFC 9421 entries
 */
export function signedCallMetadata(
  input: SignGrpcCallInput,
  options: SignGrpcCallOptions = {},
): Metadata {
  return metadataOf({ ...signGrpcCall(input, options) });
}

/** What a raw call gives: the decoded reply, or the error a gRPC client sees. */
export type RawCallOutcome<T = Buffer> =
  { reply: T; error?: undefined } | { error: ServiceError; reply?: undefined };

/** How {@link rawUnaryCall} and {@link rawClientStreamCall} call. */
export interface RawCallOptions<T> {
  /** The call's deadline, from now. @default 5000 */
  deadlineMs?: number;
  /** Decodes the reply's bytes. @default the bytes as received */
  deserialize?: (bytes: Buffer) => T;
}

const identity = (bytes: Buffer): Buffer => bytes;

/**
 * One unary call with the message's bytes exactly as given (an identity serialiser), so that a
 * test can send bytes no serialiser would produce. It never rejects: a failed call resolves to
 * its error.
 *
 * @param client a grpc-js client (any service: the path decides the method)
 * @param path the full method path, such as `/greeter.v1.Greeter/Greet`
 * @param bytes the request message's bytes
 * @param metadata the call's metadata
 * @param options the deadline and the reply's decoder
 */
export function rawUnaryCall<T = Buffer>(
  client: Client,
  path: string,
  bytes: Buffer,
  metadata: Metadata = new Metadata(),
  { deadlineMs = 5_000, deserialize = identity as (bytes: Buffer) => T }: RawCallOptions<T> = {},
): Promise<RawCallOutcome<T>> {
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      path,
      identity,
      deserialize,
      bytes,
      metadata,
      { deadline: Date.now() + deadlineMs },
      (error, reply) => resolve(error ? { error } : { reply: reply as T }),
    );
  });
}

/**
 * {@link rawUnaryCall} on a greeter method, with its reply decoded.
 *
 * @param client a client of `greeter.v1.Greeter`
 * @param path the method path, such as `/greeter.v1.Greeter/Greet`
 * @param bytes the request message's bytes
 * @param metadata the call's metadata
 */
export function rawGreeterCall(
  client: Client,
  path: string,
  bytes: Buffer,
  metadata?: Metadata,
): Promise<RawCallOutcome<Record<string, unknown>>> {
  return rawUnaryCall(client, path, bytes, metadata, { deserialize: greeterReplyDecoder(path) });
}

/**
 * One client-streaming call that sends the given messages' bytes, then ends its side; like
 * {@link rawUnaryCall}, it resolves to the reply or the error.
 *
 * @param client a grpc-js client
 * @param path the full method path, such as `/greeter.v1.Greeter/Collect`
 * @param messages each request message's bytes, in order
 * @param metadata the call's metadata
 * @param options the deadline and the reply's decoder
 */
export function rawClientStreamCall<T = Buffer>(
  client: Client,
  path: string,
  messages: readonly Buffer[],
  metadata: Metadata = new Metadata(),
  { deadlineMs = 5_000, deserialize = identity as (bytes: Buffer) => T }: RawCallOptions<T> = {},
): Promise<RawCallOutcome<T>> {
  return new Promise((resolve) => {
    const stream = client.makeClientStreamRequest(
      path,
      identity,
      deserialize,
      metadata,
      { deadline: Date.now() + deadlineMs },
      (error, reply) => resolve(error ? { error } : { reply: reply as T }),
    );
    for (const message of messages) stream.write(message);
    stream.end();
  });
}

/**
 * Expects a raw call to have been refused with this status and these details (a string is
 * matched exactly), and nothing else.
 *
 * @param outcome the call's outcome
 * @param code the status
 * @param details the error's details
 * @returns the error, for its trailers
 */
export function expectRefusal(
  outcome: RawCallOutcome<unknown>,
  code: number,
  details: string | RegExp,
): ServiceError {
  expect(outcome.reply).toBeUndefined();
  expect(outcome.error).toBeDefined();
  const error = outcome.error as ServiceError;
  if (typeof details === 'string') {
    expect({ code: error.code, details: error.details }).toEqual({ code, details });
  } else {
    expect(error.code).toBe(code);
    expect(error.details).toMatch(details);
  }
  return error;
}
