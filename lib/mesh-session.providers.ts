import { Logger, type InjectionToken, type Provider } from '@nestjs/common';
import { RateLimiter } from './core/rate-limiter.js';
import { SessionManager } from './core/session-manager.js';
import { SessionStore } from './core/session-store.js';
import { SESSION_TELEMETRY, type SessionTelemetry } from './core/session-telemetry.js';
import {
  SESSION_CLEANUP_OPTIONS,
  type SessionCleanupOptions,
} from './cleanup/session-cleanup.constants.js';
import { SESSION_GUARD_OPTIONS, type SessionGuardOptions } from './guard/session-guard.options.js';
import { StoreFailureLog } from './guard/store-failure-log.js';
import {
  HANDSHAKE_ENDPOINT_OPTIONS,
  type HandshakeEndpointOptions,
} from './handshake/handshake-endpoint.options.js';
import { HandshakeMiddleware } from './handshake/handshake.middleware.js';
import { HandshakeService } from './handshake/handshake.service.js';
import { SessionGuard } from './guard/session.guard.js';
import {
  SESSION_HEALTH_OPTIONS,
  type SessionHealthOptions,
} from './health/session-health.options.js';
import { MESH_SESSION_MODULE_OPTIONS } from './mesh-session.module-definition.js';
import { MESH_SESSION_OPTIONS } from './mesh-session.constants.js';
import { MeshAuditEmitter } from './monitoring/mesh-audit.emitter.js';
import {
  resolveMeshSessionOptions,
  type MeshSessionModuleOptions,
  type ResolvedMeshSessionOptions,
} from './options/mesh-session.options.js';
import { RequestVerifier } from './protocol/signing/request-verifier.js';
import { MemorySessionStore } from './stores/memory/memory-session.store.js';
import { createSessionTelemetry } from './telemetry/create-session-telemetry.js';

type Options = ResolvedMeshSessionOptions;

/** How many verified sessions signature mode keeps the key of, on a remote store. */
const VERIFIED_SESSION_CACHE = 10_000;
/** Builds a provider from the resolved options alone. */
function fromOptions<T>(provide: InjectionToken, make: (o: Options) => T): Provider {
  return { provide, useFactory: make, inject: [MESH_SESSION_OPTIONS] };
}

/**
 * The providers of `MeshSessionModule`: the options are resolved once, and every feature gets
 * the values it needs under its own token.
 *
 * @returns the providers, in dependency order
 */
export function createMeshSessionProviders(): Provider[] {
  return [
    {
      provide: MESH_SESSION_OPTIONS,
      useFactory: (options: MeshSessionModuleOptions) => resolveMeshSessionOptions(options),
      inject: [MESH_SESSION_MODULE_OPTIONS],
    },
    fromOptions(SessionStore, (options) => {
      const store = options.store ?? new MemorySessionStore();
      // A store the app configured its own logger on keeps it.
      store.useLogger(new Logger(store.constructor.name), false);
      return store;
    }),
    fromOptions(MeshAuditEmitter, (o) => new MeshAuditEmitter(o.monitoring, o.serviceId)),
    {
      provide: SESSION_TELEMETRY,
      // Chosen once: OpenTelemetry when its API is installed and an SDK records, else no-ops.
      useFactory: (options: Options, store: SessionStore) =>
        createSessionTelemetry(options.telemetry, {
          store,
          storeTimeout: options.storeTimeout,
          pinnedServices: options.handshake?.trustedServices.keys() ?? [],
        }),
      inject: [MESH_SESSION_OPTIONS, SessionStore],
    },
    {
      provide: SessionManager,
      useFactory: (
        options: Options,
        store: SessionStore,
        audit: MeshAuditEmitter,
        telemetry: SessionTelemetry,
      ) => new SessionManager(store, options, audit, telemetry),
      inject: [MESH_SESSION_OPTIONS, SessionStore, MeshAuditEmitter, SESSION_TELEMETRY],
    },
    {
      provide: RateLimiter,
      useFactory: (options: Options, store: SessionStore) =>
        options.rateLimit === false ? null : store.createRateLimiter(options.rateLimit),
      inject: [MESH_SESSION_OPTIONS, SessionStore],
    },
    {
      provide: RequestVerifier,
      useFactory: (options: Options, sessions: SessionManager, store: SessionStore) => {
        const logger = new Logger('MeshSession');
        return new RequestVerifier(sessions, {
          maxClockSkew: options.handshake?.maxClockSkew,
          warn: (message) => logger.error(message),
          // A remote store answers each call in a round trip: keep the keys of verified
          // sessions, so that a signed request takes one call. The memory store has none.
          sessionCache: store instanceof MemorySessionStore ? 0 : VERIFIED_SESSION_CACHE,
        });
      },
      inject: [MESH_SESSION_OPTIONS, SessionManager, SessionStore],
    },
    ...featureOptionProviders(),
    StoreFailureLog,
    {
      provide: HandshakeService,
      // No handshake option, no endpoint: the service is then `null`.
      useFactory: (
        handshake: HandshakeEndpointOptions | null,
        sessions: SessionManager,
        store: SessionStore,
        audit: MeshAuditEmitter,
        storeFailures: StoreFailureLog,
        telemetry: SessionTelemetry,
      ) =>
        handshake === null
          ? null
          : new HandshakeService(sessions, store, audit, handshake, storeFailures, telemetry),
      inject: [
        HANDSHAKE_ENDPOINT_OPTIONS,
        SessionManager,
        SessionStore,
        MeshAuditEmitter,
        StoreFailureLog,
        SESSION_TELEMETRY,
      ],
    },
    {
      provide: HandshakeMiddleware,
      useFactory: (handshakes: HandshakeService | null, guard: SessionGuard) =>
        handshakes === null ? null : new HandshakeMiddleware(handshakes, guard),
      inject: [HandshakeService, SessionGuard],
    },
  ];
}

/** Each feature's own options, taken from the resolved module options. */
function featureOptionProviders(): Provider[] {
  return [
    fromOptions(SESSION_GUARD_OPTIONS, (o): SessionGuardOptions => ({
      sessionHeader: o.sessionHeader,
      requestSigning: o.requestSigning,
      storeTimeout: o.storeTimeout,
    })),
    fromOptions(SESSION_HEALTH_OPTIONS, (o): SessionHealthOptions => ({
      maxActiveSessions: o.health.maxActiveSessions,
      storeTimeout: o.storeTimeout,
    })),
    fromOptions(SESSION_CLEANUP_OPTIONS, (o): SessionCleanupOptions => ({
      cleanupInterval: o.cleanupInterval,
    })),
    fromOptions(HANDSHAKE_ENDPOINT_OPTIONS, (o): HandshakeEndpointOptions | null =>
      o.handshake === undefined || o.serviceId === undefined
        ? null
        : { ...o.handshake, serviceId: o.serviceId, storeTimeout: o.storeTimeout },
    ),
  ];
}
