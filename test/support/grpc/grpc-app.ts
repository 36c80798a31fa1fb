import type { INestApplication, LoggerService, ModuleMetadata } from '@nestjs/common';
import {
  credentials,
  loadPackageDefinition,
  Metadata,
  Client,
  type ServiceError,
} from '@grpc/grpc-js';
import { loadSync, type Options as LoaderOptions } from '@grpc/proto-loader';
import { ExpressAdapter } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';
import { freePort } from '../redis-server.js';
import {
  MeshSessionModule,
  type HandshakeOptions,
  type MeshSessionModuleOptions,
  type RateLimiterOptions,
  type SessionStore,
} from '../../../lib/index.js';
import {
  MESH_HANDSHAKE_LOADER_OPTIONS,
  MESH_HANDSHAKE_PROTO_PATH,
  MeshSessionGrpcModule,
  meshGrpcOptions,
  type MeshGrpcOptions,
} from '../../../lib/grpc.js';
import { AuditRecorder } from '../audit-recorder.js';
import { CapturingLogger } from '../../e2e/handshake-fixtures.js';

/** The test services' proto: `greeter.v1.Greeter` (Greet, Whoami, Public). */
export const GREETER_PROTO_PATH = new URL('./greeter.proto', import.meta.url).pathname;

/** What {@link startGrpcApp} builds. Everything is optional. */
export interface GrpcAppOptions {
  /** @default 'greeter' */
  serviceId?: string;
  /** The session store; the app closes it on `close()`. @default a memory store */
  store?: SessionStore;
  /** The handshake option; without it, no `MeshSessionGrpcModule` and session-id mode. */
  handshake?: HandshakeOptions;
  /** @default true with `handshake` */
  requestSigning?: boolean;
  /** The guard's per-service rate limit. @default false */
  rateLimit?: RateLimiterOptions | false;
  /** Any other option of `MeshSessionModule` (`isGlobal` is always true). */
  module?: Partial<MeshSessionModuleOptions>;
  /** Import `MeshSessionGrpcModule`. @default true with `handshake` */
  handshakeService?: boolean;
  controllers?: ModuleMetadata['controllers'];
  providers?: ModuleMetadata['providers'];
  imports?: ModuleMetadata['imports'];
  /** Overrides of the gRPC options. @default the greeter proto, package `greeter.v1` */
  grpc?: Partial<MeshGrpcOptions>;
  /** @default a {@link CapturingLogger} */
  logger?: LoggerService;
}

/** A started hybrid app: Express on loopback and a gRPC server on loopback. */
export interface GrpcApp {
  app: INestApplication;
  /** The gRPC server's address, `127.0.0.1:<port>`. */
  url: string;
  /** The HTTP server's base URL. */
  httpUrl: string;
  audit: AuditRecorder;
  logger: LoggerService;
  close(): Promise<void>;
}

// Nest's gRPC transport does not report the port it bound, so `:0` cannot be used: tests pick
// a free port first.
export { freePort };

/**
 * The root module's metadata: `MeshSessionModule` (global) with a recording audit adapter,
 * `MeshSessionGrpcModule` when asked, and the given controllers and providers.
 */
export function grpcAppMetadata(options: GrpcAppOptions, audit: AuditRecorder): ModuleMetadata {
  const withHandshakeService = options.handshakeService ?? options.handshake !== undefined;
  return {
    imports: [
      MeshSessionModule.forRoot({
        isGlobal: true,
        serviceId: options.serviceId ?? 'greeter',
        cleanupInterval: false,
        rateLimit: options.rateLimit ?? false,
        monitoring: { adapters: [audit] },
        ...(options.store === undefined ? {} : { store: options.store }),
        ...(options.handshake === undefined ? {} : { handshake: options.handshake }),
        ...(options.requestSigning === undefined ? {} : { requestSigning: options.requestSigning }),
        ...options.module,
      }),
      ...(withHandshakeService ? [MeshSessionGrpcModule] : []),
      ...(options.imports ?? []),
    ],
    controllers: options.controllers ?? [],
    providers: options.providers ?? [],
  };
}

/**
 * Starts an Express app with a gRPC microservice (`meshGrpcOptions()`), both on loopback.
 *
 * @param options what the app serves
 */
export async function startGrpcApp(options: GrpcAppOptions = {}): Promise<GrpcApp> {
  const audit = new AuditRecorder();
  const logger = options.logger ?? new CapturingLogger();
  const moduleRef = await Test.createTestingModule(grpcAppMetadata(options, audit)).compile();
  const app = moduleRef.createNestApplication(new ExpressAdapter(), { rawBody: true, logger });
  const url = `127.0.0.1:${await freePort()}`;
  app.connectMicroservice(
    meshGrpcOptions({
      url,
      package: 'greeter.v1',
      protoPath: GREETER_PROTO_PATH,
      ...options.grpc,
    }),
    { inheritAppConfig: true },
  );
  await app.startAllMicroservices();
  await app.listen(0, '127.0.0.1');
  const httpUrl = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  return { app, url, httpUrl, audit, logger, close: () => app.close() };
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
