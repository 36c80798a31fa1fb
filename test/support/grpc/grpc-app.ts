import type { INestApplication, LoggerService, ModuleMetadata } from '@nestjs/common';
import { loadSync } from '@grpc/proto-loader';
import { Transport, type GrpcOptions } from '@nestjs/microservices';
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
import { MeshSessionGrpcModule, meshGrpcOptions, type MeshGrpcOptions } from '../../../lib/grpc.js';
import { AuditRecorder } from '../audit-recorder.js';
import { CapturingLogger } from '../../e2e/handshake-fixtures.js';
import { GREETER_PROTO_PATH } from './grpc-calls.js';

// The raw clients and calls the gRPC specs use, beside the app they talk to.
export * from './grpc-calls.js';

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
  /**
   * Serve through `meshGrpcOptions()`, which keeps each message's bytes. `false` serves the
   * greeter proto with Nest's plain gRPC options instead (no bytes kept: signature mode cannot
   * verify a call), and ignores `grpc`.
   *
   * @default true
   */
  keepMessageBytes?: boolean;
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
  const microservice: GrpcOptions =
    options.keepMessageBytes === false
      ? {
          transport: Transport.GRPC,
          options: { url, package: 'greeter.v1', packageDefinition: loadSync(GREETER_PROTO_PATH) },
        }
      : meshGrpcOptions({
          url,
          package: 'greeter.v1',
          protoPath: GREETER_PROTO_PATH,
          ...options.grpc,
        });
  app.connectMicroservice(microservice, { inheritAppConfig: true });
  await app.startAllMicroservices();
  await app.listen(0, '127.0.0.1');
  const httpUrl = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  return { app, url, httpUrl, audit, logger, close: () => app.close() };
}
