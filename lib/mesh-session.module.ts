import {
  Inject,
  Module,
  Optional,
  type DynamicModule,
  RequestMethod,
  type MiddlewareConsumer,
  type NestModule,
} from '@nestjs/common';
import { ApplicationConfig, HttpAdapterHost } from '@nestjs/core';
import { RateLimiter } from './core/rate-limiter.js';
import { SessionManager } from './core/session-manager.js';
import { SessionStore } from './core/session-store.js';
import { SESSION_TELEMETRY } from './core/session-telemetry.js';
import { SESSION_CLEANUP_OPTIONS } from './cleanup/session-cleanup.constants.js';
import { SessionCleanupService } from './cleanup/session-cleanup.service.js';
import { SESSION_GUARD_OPTIONS } from './guard/session-guard.options.js';
import { SessionGuard } from './guard/session.guard.js';
import {
  HANDSHAKE_ENDPOINT_OPTIONS,
  type HandshakeEndpointOptions,
} from './handshake/handshake-endpoint.options.js';
import { routeBodyParserErrors } from './handshake/body-parser-errors.js';
import { HandshakeMiddleware } from './handshake/handshake.middleware.js';
import { HandshakeService } from './handshake/handshake.service.js';
import { SESSION_HEALTH_OPTIONS } from './health/session-health.options.js';
import { MeshSessionShutdown } from './mesh-session-shutdown.js';
import { MESH_SESSION_OPTIONS } from './mesh-session.constants.js';
import {
  MESH_SESSION_OPTIONS_TYPE,
  MeshSessionConfigurableModule,
} from './mesh-session.module-definition.js';
import { createMeshSessionProviders } from './mesh-session.providers.js';
import { MeshAuditEmitter } from './monitoring/mesh-audit.emitter.js';
import { RequestVerifier } from './protocol/signing/request-verifier.js';

/**
 * Session management for service-to-service calls: provides `SessionManager`, `SessionGuard`,
 * the store, the cleanup job and, with the `handshake` option, the handshake endpoint. The
 * Terminus health indicator comes from `nestjs-mesh-session/health`.
 *
 * @example
 * ```ts
 * @Module({
 *   imports: [MeshSessionModule.forRoot({ serviceId: 'orders', isGlobal: true })],
 * })
 * export class AppModule {}
 *
 * MeshSessionModule.forRootAsync({
 *   inject: [ConfigService],
 *   useFactory: (config: ConfigService) => ({
 *     serviceId: 'greeter',
 *     sessionTimeout: Number(config.get('SESSION_TTL_MS')),
 *     handshake: { privateKey: config.get('MESH_KEY'), trustedServices: { caller: config.get('CALLER_KEY') } },
 *   }),
 * });
 * ```
 */
@Module({
  providers: [
    ...createMeshSessionProviders(),
    SessionCleanupService,
    SessionGuard,
    MeshSessionShutdown,
  ],
  exports: [
    MESH_SESSION_OPTIONS,
    SESSION_GUARD_OPTIONS,
    SESSION_HEALTH_OPTIONS,
    SESSION_CLEANUP_OPTIONS,
    SESSION_TELEMETRY,
    SessionStore,
    SessionManager,
    RateLimiter,
    MeshAuditEmitter,
    SessionCleanupService,
    SessionGuard,
    RequestVerifier,
    HandshakeService,
  ],
})
export class MeshSessionModule extends MeshSessionConfigurableModule implements NestModule {
  /**
   * @param handshake the endpoint's options, or `null` without the `handshake` option
   * @param endpoint the endpoint, or `null` without the `handshake` option
   * @param adapterHost the app's HTTP adapter, when there is one
   * @param appConfig the app's global prefix
   */
  constructor(
    @Inject(HANDSHAKE_ENDPOINT_OPTIONS) private readonly handshake: HandshakeEndpointOptions | null,
    @Optional() @Inject(HandshakeMiddleware) private readonly endpoint: HandshakeMiddleware | null,
    private readonly adapterHost: HttpAdapterHost,
    private readonly appConfig: ApplicationConfig,
  ) {
    super();
  }

  /**
   * Registers the module with static options.
   *
   * @param options module options and the `isGlobal` extra
   * @default options {}
   * @throws {Error} at startup, naming the first bad or unknown option
   */
  static forRoot(options: typeof MESH_SESSION_OPTIONS_TYPE = {}): DynamicModule {
    return super.forRoot(options);
  }

  /**
   * Mounts the handshake endpoint at `handshake.path` once the options are resolved, so that
   * `forRoot` and `forRootAsync` serve it alike.
   *
   * @param consumer Nest's middleware consumer
   */
  configure(consumer: MiddlewareConsumer): void {
    if (this.handshake === null || this.endpoint === null) return;
    const path = this.handshake.path;
    routeBodyParserErrors(
      this.adapterHost.httpAdapter,
      this.appConfig.getGlobalPrefix(),
      path,
      this.endpoint,
    );
    consumer
      .apply(HandshakeMiddleware)
      .forRoutes({ path, method: RequestMethod.POST }, { path, method: RequestMethod.DELETE });
  }
}
