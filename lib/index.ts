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
} from './options/mesh-session.options.js';
export { MESH_SESSION_OPTIONS } from './mesh-session.constants.js';
export { SESSION_KEY_LENGTH } from './core/session.constants.js';
export {
  DEFAULT_SESSION_HEADER,
  SESSION_REQUEST_PROPERTY,
  STORE_UNAVAILABLE_RETRY_AFTER,
} from './guard/session-guard.constants.js';
export { MESH_SESSION_CLEANUP_JOB } from './cleanup/session-cleanup.constants.js';
export { SessionMessages } from './core/session.messages.js';
export { CleanupMessages } from './cleanup/cleanup.messages.js';
export { MonitoringMessages } from './monitoring/monitoring.messages.js';
export { HandshakeEndpointMessages } from './handshake/handshake-endpoint.messages.js';
export { HandshakeMessages } from './protocol/handshake/handshake.messages.js';
export { SigningMessages } from './protocol/signing/signing.messages.js';
export { MeshClientMessages } from './client/mesh-client.messages.js';

export { SessionManager } from './core/session-manager.js';
export { MeshSession } from './core/mesh-session.js';
export type { Session, SessionStats } from './core/session.interface.js';
export { SESSION_TIMEOUTS } from './core/session-timeouts.js';
export { createSessionId, isSessionId } from './core/session-id.js';
export {
  SessionValidationError,
  type SessionRejectionReason,
} from './core/session-validation.error.js';

export { SessionStore } from './core/session-store.js';
export { MemorySessionStore } from './stores/memory/memory-session.store.js';

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

export { RateLimiter, type RateLimiterOptions, type RateLimitResult } from './core/rate-limiter.js';

export { SessionHealthIndicator } from './health/session.health.js';
export { SessionCleanupService } from './cleanup/session-cleanup.service.js';

export type { MeshAuditEvent, MeshAuditEventType } from './core/mesh-audit-event.interface.js';
export type {
  MonitoringAdapter,
  MonitoringOptions,
} from './monitoring/monitoring-adapter.interface.js';
export { LoggerMonitoringAdapter } from './monitoring/logger-monitoring.adapter.js';
export { MeshAuditEmitter, sessionRef } from './monitoring/mesh-audit.emitter.js';
export { StoreTimeoutError, withTimeout } from './core/with-timeout.js';

// Handshake, signed requests and MeshClient (issue 3)
export {
  DEFAULT_HANDSHAKE_PATH,
  DEFAULT_MAX_CLOCK_SKEW,
  DEFAULT_HANDSHAKE_RATE_LIMIT,
  HANDSHAKE_CONTENT_TYPE,
  HANDSHAKE_PROTOCOL_VERSION,
  MAX_HANDSHAKE_BODY_BYTES,
} from './protocol/handshake/handshake.constants.js';
export type { HandshakeOptions, ResolvedHandshakeOptions } from './options/handshake.options.js';
export {
  generateIdentityKeyPair,
  loadPrivateIdentityKey,
  loadPublicIdentityKey,
  type IdentityKeyInput,
  type IdentityKeyPair,
} from './protocol/handshake/identity-keys.js';
export { HandshakeService, type HandshakePeer } from './handshake/handshake.service.js';
export { HandshakeError } from './protocol/handshake/handshake.error.js';
export {
  HandshakeFailedException,
  HandshakeRateLimitException,
} from './handshake/handshake.exceptions.js';
export type { ClientHello, ServerHello } from './protocol/handshake/handshake.protocol.js';
export {
  MESH_HANDSHAKE_ROUTES,
  type MeshSessionHandshakeRoutesExtra,
} from './handshake/handshake.routes.js';

export { RequestVerifier, type SignedRequestParts } from './protocol/signing/request-verifier.js';
export {
  signRequest,
  type SignRequestInput,
  type SignedRequestHeaders,
} from './protocol/signing/request-signer.js';
export { createContentDigest, verifyContentDigest } from './protocol/signing/content-digest.js';
export {
  SignatureVerificationError,
  type SignatureRejectionReason,
} from './protocol/signing/signature-verification.error.js';
export { SIGNATURE_ALGORITHM, SIGNATURE_LABEL } from './protocol/signing/signing.constants.js';

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
