export { MeshSessionModule } from './mesh-session.module.js';
export type {
  MeshSessionModuleAsyncOptions,
  MeshSessionModuleExtras,
} from './mesh-session.module-definition.js';
export {
  MESH_SESSION_DEFAULTS,
  resolveMeshSessionOptions,
  type MeshSessionModuleOptions,
  type ResolvedMeshSessionOptions,
} from './mesh-session.options.js';
export {
  DEFAULT_SESSION_HEADER,
  MESH_SESSION_CLEANUP_JOB,
  MESH_SESSION_OPTIONS,
  SESSION_KEY_LENGTH,
  SESSION_REQUEST_PROPERTY,
} from './mesh-session.constants.js';
export { MeshSessionMessages } from './mesh-session.messages.js';

export { SessionManager } from './session/session-manager.js';
export { MeshSession } from './session/mesh-session.js';
export type { Session, SessionStats } from './session/session.interface.js';
export { SESSION_TIMEOUTS } from './session/session-timeouts.js';
export { createSessionId, isSessionId } from './session/session-id.js';
export {
  SessionValidationError,
  type SessionRejectionReason,
} from './session/session-validation.error.js';

export { SessionStore } from './stores/session-store.interface.js';
export { MemorySessionStore } from './stores/memory-session.store.js';
export { RedisSessionStore } from './stores/redis-session.store.js';
export {
  REDIS_SESSION_STORE_DEFAULTS,
  type RedisSessionStoreOptions,
} from './stores/redis-session-store.options.js';

export {
  SessionGuard,
  type SessionGuardRequest,
  type SessionGuardResponse,
} from './guard/session.guard.js';
export { CurrentSession } from './guard/current-session.decorator.js';
export { SkipSession } from './guard/skip-session.decorator.js';
export {
  SessionRateLimitException,
  SessionStoreUnavailableException,
  SessionUnauthorizedException,
} from './guard/session.exceptions.js';

export {
  RateLimiter,
  type RateLimiterOptions,
  type RateLimitResult,
} from './rate-limit/rate-limiter.js';

export { SessionHealthIndicator } from './health/session.health.js';
export { SessionCleanupService } from './cleanup/session-cleanup.service.js';

export type {
  MeshAuditEvent,
  MeshAuditEventType,
} from './monitoring/mesh-audit-event.interface.js';
export type {
  MonitoringAdapter,
  MonitoringOptions,
} from './monitoring/monitoring-adapter.interface.js';
export { LoggerMonitoringAdapter } from './monitoring/logger-monitoring.adapter.js';
export { MeshAuditEmitter, sessionRef } from './monitoring/mesh-audit.emitter.js';
export { StoreTimeoutError, withTimeout } from './utils/with-timeout.js';
