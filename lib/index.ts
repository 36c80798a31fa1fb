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
  STORE_UNAVAILABLE_RETRY_AFTER,
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

// Handshake, signed requests and MeshClient (issue 3)
export {
  DEFAULT_HANDSHAKE_PATH,
  DEFAULT_MAX_CLOCK_SKEW,
  DEFAULT_HANDSHAKE_RATE_LIMIT,
  HANDSHAKE_CONTENT_TYPE,
  HANDSHAKE_PROTOCOL_VERSION,
  MAX_HANDSHAKE_BODY_BYTES,
} from './handshake/handshake.constants.js';
export type { HandshakeOptions, ResolvedHandshakeOptions } from './handshake/handshake.options.js';
export {
  generateIdentityKeyPair,
  loadPrivateIdentityKey,
  loadPublicIdentityKey,
  type IdentityKeyInput,
  type IdentityKeyPair,
} from './handshake/identity-keys.js';
export { HandshakeService, type HandshakePeer } from './handshake/handshake.service.js';
export { HandshakeError } from './handshake/handshake.error.js';
export {
  HandshakeFailedException,
  HandshakeRateLimitException,
} from './handshake/handshake.exceptions.js';
export type { ClientHello, ServerHello } from './handshake/handshake.protocol.js';
export {
  MESH_HANDSHAKE_ROUTES,
  type MeshSessionHandshakeRoutesExtra,
} from './handshake/handshake.routes.js';

export { RequestVerifier, type SignedRequestParts } from './signing/request-verifier.js';
export {
  signRequest,
  type SignRequestInput,
  type SignedRequestHeaders,
} from './signing/request-signer.js';
export { createContentDigest, verifyContentDigest } from './signing/content-digest.js';
export {
  SignatureVerificationError,
  type SignatureRejectionReason,
} from './signing/signature-verification.error.js';
export { SIGNATURE_ALGORITHM, SIGNATURE_LABEL } from './signing/signing.constants.js';

export { MeshClientModule } from './client/mesh-client.module.js';
export {
  MESH_CLIENT_MODULE_OPTIONS,
  type MeshClientModuleAsyncOptions,
  type MeshClientModuleExtras,
} from './client/mesh-client.module-definition.js';
export { MeshClient } from './client/mesh-client.js';
export {
  MeshConnection,
  type MeshRequestInit,
  type MeshResponse,
} from './client/mesh-connection.js';
export {
  MESH_CLIENT_DEFAULTS,
  resolveMeshClientOptions,
  type MeshClientModuleOptions,
  type MeshServiceOptions,
  type ResolvedMeshClientOptions,
  type ResolvedMeshServiceOptions,
} from './client/mesh-client.options.js';
export {
  MeshClientError,
  MeshHandshakeError,
  MeshRequestError,
  type MeshHandshakeFailure,
  type MeshRequestFailure,
} from './client/mesh-client.errors.js';
