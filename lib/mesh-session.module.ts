import {
  Inject,
  Module,
  Optional,
  type DynamicModule,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { SessionCleanupService } from './cleanup/session-cleanup.service.js';
import { SessionGuard } from './guard/session.guard.js';
import {
  withHandshakeRoutes,
  type MeshSessionHandshakeRoutesExtra,
} from './handshake/handshake.routes.js';
import { SessionHealthIndicator } from './health/session.health.js';
import { MESH_SESSION_OPTIONS } from './mesh-session.constants.js';
import {
  MESH_SESSION_ASYNC_OPTIONS_TYPE,
  MESH_SESSION_MODULE_OPTIONS,
  MESH_SESSION_OPTIONS_TYPE,
  MeshSessionConfigurableModule,
} from './mesh-session.module-definition.js';
import {
  resolveMeshSessionOptions,
  type MeshSessionModuleOptions,
  type ResolvedMeshSessionOptions,
} from './options/mesh-session.options.js';
import { MeshAuditEmitter } from './monitoring/mesh-audit.emitter.js';
import { RateLimiter } from './core/rate-limiter.js';
import { SessionManager } from './core/session-manager.js';
import { RequestVerifier } from './protocol/signing/request-verifier.js';
import { MemorySessionStore } from './stores/memory/memory-session.store.js';
import { SessionStore } from './core/session-store.js';

/**
 * Session management for service-to-service calls: provides `SessionManager`, `SessionGuard`,
 * `SessionHealthIndicator`, the cleanup job and the store.
 *
 * @example
 * ```ts
 * @Module({
 *   imports: [
 *     ScheduleModule.forRoot(),
 *     TerminusModule,
 *     MeshSessionModule.forRoot({ serviceId: 'orders', isGlobal: true }),
 *   ],
 * })
 * export class AppModule {}
 * ```
 */
@Module({
  providers: [
    {
      provide: MESH_SESSION_OPTIONS,
      useFactory: (options: MeshSessionModuleOptions) => resolveMeshSessionOptions(options),
      inject: [MESH_SESSION_MODULE_OPTIONS],
    },
    {
      provide: SessionStore,
      useFactory: (options: ResolvedMeshSessionOptions) =>
        options.store ?? new MemorySessionStore(),
      inject: [MESH_SESSION_OPTIONS],
    },
    {
      provide: MeshAuditEmitter,
      useFactory: (options: ResolvedMeshSessionOptions) =>
        new MeshAuditEmitter(options.monitoring, options.serviceId),
      inject: [MESH_SESSION_OPTIONS],
    },
    {
      provide: SessionManager,
      useFactory: (
        options: ResolvedMeshSessionOptions,
        store: SessionStore,
        audit: MeshAuditEmitter,
      ) => new SessionManager({ ...options, store }, audit),
      inject: [MESH_SESSION_OPTIONS, SessionStore, MeshAuditEmitter],
    },
    {
      provide: RateLimiter,
      useFactory: (options: ResolvedMeshSessionOptions, store: SessionStore) =>
        options.rateLimit === false ? null : store.createRateLimiter(options.rateLimit),
      inject: [MESH_SESSION_OPTIONS, SessionStore],
    },
    {
      provide: RequestVerifier,
      useFactory: (sessions: SessionManager) => new RequestVerifier(sessions),
      inject: [SessionManager],
    },
    HealthIndicatorService,
    SessionHealthIndicator,
    SessionCleanupService,
    SessionGuard,
  ],
  exports: [
    MESH_SESSION_OPTIONS,
    SessionStore,
    SessionManager,
    RateLimiter,
    MeshAuditEmitter,
    SessionHealthIndicator,
    SessionCleanupService,
    SessionGuard,
    RequestVerifier,
  ],
})
export class MeshSessionModule
  extends MeshSessionConfigurableModule
  implements OnApplicationShutdown
{
  constructor(
    private readonly sessions: SessionManager,
    private readonly audit: MeshAuditEmitter,
    @Inject(MESH_SESSION_OPTIONS) private readonly options: ResolvedMeshSessionOptions,
    @Optional() @Inject(RateLimiter) private readonly rateLimiter: RateLimiter | null,
  ) {
    super();
  }

  /**
   * Registers the module with static options.
   *
   * @param options module options and the `isGlobal` extra; all optional
   * @throws {Error} at startup, naming the first bad option
   */
  static forRoot(options: typeof MESH_SESSION_OPTIONS_TYPE = {}): DynamicModule {
    // With `handshake`, the handshake endpoint is served at `handshake.path`.
    return withHandshakeRoutes(super.forRoot(options), options.handshake !== undefined);
  }

  /**
   * Registers the module with options from a factory, class or existing provider.
   *
   * @example
   * ```ts
   * MeshSessionModule.forRootAsync({
   *   imports: [ConfigModule],
   *   inject: [ConfigService],
   *   useFactory: (config: ConfigService) => ({ sessionTimeout: config.get('SESSION_TTL') }),
   * });
   *
   * // A handshake from async options: declare its routes with `handshakeRoutes: true`.
   * MeshSessionModule.forRootAsync({
   *   handshakeRoutes: true,
   *   inject: [ConfigService],
   *   useFactory: (config: ConfigService) => ({
   *     serviceId: 'greeter',
   *     handshake: { privateKey: config.get('MESH_KEY'), trustedServices: { ... } },
   *   }),
   * });
   * ```
   * @throws {Error} at startup when `handshake` and `handshakeRoutes` disagree
   */
  static forRootAsync(
    options: typeof MESH_SESSION_ASYNC_OPTIONS_TYPE & MeshSessionHandshakeRoutesExtra,
  ): DynamicModule {
    const { handshakeRoutes = false, ...rest } = options;
    return withHandshakeRoutes(super.forRootAsync(rest), handshakeRoutes);
  }

  /**
   * Runs after the cleanup job's final run: tells the adapters, then closes what the module
   * opened (the rate limiter's timers, and the store's own connections).
   */
  async onApplicationShutdown(): Promise<void> {
    const activeSessions = await this.sessions.store.count().catch(() => undefined);
    this.audit.emit('connection', this.options.serviceId, {
      action: 'mesh_shutdown',
      success: true,
      metadata: { activeSessions },
    });
    await this.audit.flush(this.options.storeTimeout);
    await this.rateLimiter?.close();
    await this.sessions.store.close();
  }
}
