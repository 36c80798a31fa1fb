import './default-store.js';

// Module
export { MeshSessionModule } from './mesh-session.module.js';
export type {
  MeshSessionModuleAsyncOptions,
  MeshSessionModuleExtras,
} from './mesh-session.module-definition.js';
export { MESH_SESSION_OPTIONS } from './mesh-session.constants.js';
export {
  MESH_SESSION_DEFAULTS,
  type MeshSessionModuleOptions,
  type ResolvedMeshSessionOptions,
} from './options/mesh-session.options.js';
export type { HandshakeOptions } from './options/handshake.options.js';

// Sessions
export { SessionManager } from './core/session-manager.js';
export { MeshSession } from './core/mesh-session.js';
export type { Session, SessionStats } from './core/session.interface.js';
export type { SessionPolicy } from './core/session-policy.js';
export { SESSION_TIMEOUTS } from './core/session-timeouts.js';
export { SESSION_KEY_LENGTH } from './core/session.constants.js';
export { generateSessionKey } from './core/session-key.js';
export { isSessionId } from './core/session-id.js';
export {
  SessionValidationError,
  type SessionRejectionReason,
} from './core/session-validation.error.js';
export { StoreTimeoutError } from './core/with-timeout.js';
export { SessionMessages } from './core/session.messages.js';

// Stores (the Redis store: `nestjs-mesh-session/redis`)
export { SessionStore } from './core/session-store.js';
export type { SessionStoreLogger } from './core/session-store-logger.js';
export { MemorySessionStore } from './stores/memory/memory-session.store.js';

// Rate limiting
export { RateLimiter, type RateLimitResult } from './core/rate-limiter.js';
export type { RateLimiterOptions } from './core/rate-limiter-options.js';

// Guard
export { SessionGuard } from './guard/session.guard.js';
export type { SessionGuardRequest, SessionGuardResponse } from './guard/session-guard-request.js';
export type { GrpcCall, GrpcMetadataLike, GrpcServerCallLike } from './guard/grpc-call.js';
export { SESSION_GUARD_OPTIONS, type SessionGuardOptions } from './guard/session-guard.options.js';
export { CurrentSession } from './guard/current-session.decorator.js';
export { SkipSession } from './guard/skip-session.decorator.js';
export {
  SessionRateLimitException,
  SessionStoreUnavailableException,
  SessionUnauthorizedException,
} from './guard/session.exceptions.js';
export {
  DEFAULT_SESSION_HEADER,
  STORE_UNAVAILABLE_RETRY_AFTER,
} from './guard/session-guard.constants.js';

// Cleanup job (the health indicator: `nestjs-mesh-session/health`)
export { SessionCleanupService } from './cleanup/session-cleanup.service.js';
export { MESH_SESSION_CLEANUP_JOB } from './cleanup/session-cleanup.constants.js';
export { CleanupMessages } from './cleanup/cleanup.messages.js';

// Monitoring
export type { AuditSink } from './core/audit-sink.js';
export type { MeshAuditEvent, MeshAuditEventType } from './core/mesh-audit-event.interface.js';
export type {
  MonitoringAdapter,
  MonitoringOptions,
} from './monitoring/monitoring-adapter.interface.js';
export { LoggerMonitoringAdapter } from './monitoring/logger-monitoring.adapter.js';
export { MeshAuditEmitter } from './monitoring/mesh-audit.emitter.js';
export { MonitoringMessages } from './monitoring/monitoring.messages.js';

// Telemetry (OpenTelemetry metrics and traces; the optional peer @opentelemetry/api)
export type {
  MeshTelemetryOptions,
  MeterProviderLike,
  TracerProviderLike,
} from './telemetry/telemetry.options.js';
export {
  CLIENT_HANDSHAKE_OUTCOMES,
  GUARD_REFUSAL_REASONS,
  MESH_SESSION_ATTRIBUTES,
  MESH_SESSION_METRICS,
  MESH_SESSION_SPANS,
  MESH_TELEMETRY_SCOPE,
  SERVER_HANDSHAKE_OUTCOMES,
} from './telemetry/mesh-telemetry.constants.js';
export {
  NOOP_SESSION_TELEMETRY,
  SESSION_TELEMETRY,
  type HandshakeSide,
  type InvalidationCause,
  type SessionTelemetry,
  type StoreCallMark,
  type StoreOperation,
  type TelemetryTransport,
} from './core/session-telemetry.js';

// Handshake
export {
  DEFAULT_HANDSHAKE_PATH,
  DEFAULT_HANDSHAKE_RATE_LIMIT,
  DEFAULT_MAX_CLOCK_SKEW,
  HANDSHAKE_CONTENT_TYPE,
} from './protocol/handshake/handshake.constants.js';
export {
  generateIdentityKeyPair,
  loadPrivateIdentityKey,
  loadPublicIdentityKey,
  type IdentityKeyInput,
  type IdentityKeyPair,
} from './protocol/handshake/identity-keys.js';
export { HandshakeError } from './protocol/handshake/handshake.error.js';
export type { ClientHello, ServerHello } from './protocol/handshake/handshake-hello.interface.js';
export { HandshakeMessages } from './protocol/handshake/handshake.messages.js';
export { HandshakeService, type HandshakePeer } from './handshake/handshake.service.js';
export {
  HandshakeFailedException,
  HandshakeRateLimitException,
} from './handshake/handshake.exceptions.js';
export { HandshakeEndpointMessages } from './handshake/handshake-endpoint.messages.js';

// Signed requests
export { RequestVerifier } from './protocol/signing/request-verifier.js';
export type { RequestVerifierOptions } from './protocol/signing/request-verifier.options.js';
export type { SignedRequestParts } from './protocol/signing/signed-request-parts.js';
export {
  signRequest,
  type SignRequestInput,
  type SignedRequestHeaders,
} from './protocol/signing/request-signer.js';
export {
  signGrpcCall,
  type CallSignatureMetadata,
  type Rfc9421CallMetadata,
  type SignGrpcCallInput,
  type SignGrpcCallOptions,
  type SignedCallMetadata,
} from './protocol/signing/call-signer.js';
export { CALL_SIGNATURE_METADATA } from './protocol/signing/call-signature-entry.js';
export {
  GRPC_SIGNING_PROFILE,
  HTTP_SIGNING_PROFILE,
  type SigningProfile,
} from './protocol/signing/signing-profile.js';
export { createContentDigest, verifyContentDigest } from './protocol/signing/content-digest.js';
export {
  SignatureVerificationError,
  type SignatureRejectionReason,
} from './protocol/signing/signature-verification.error.js';
export { SIGNATURE_ALGORITHM, SIGNATURE_LABEL } from './protocol/signing/signing.constants.js';
export { SigningMessages } from './protocol/signing/signing.messages.js';

// MeshClient
export { MeshClientModule } from './client/mesh-client.module.js';
export type {
  MeshClientModuleAsyncOptions,
  MeshClientModuleExtras,
} from './client/mesh-client.module-definition.js';
export { MeshClient } from './client/mesh-client.js';
export { MeshConnection, type MeshSignedCall } from './client/mesh-connection.js';
export { HttpMeshConnection } from './client/http-mesh-connection.js';
export { GrpcMeshConnection } from './client/grpc-mesh-connection.js';
export type { MeshRequestInit } from './client/mesh-request.js';
export type { MeshResponse } from './client/mesh-response.js';
export {
  MESH_CLIENT_DEFAULTS,
  type MeshClientModuleOptions,
  type MeshHttpServiceOptions,
  type MeshServiceOptions,
} from './client/mesh-client.options.js';
export type {
  GrpcChannelCredentialsLike,
  MeshGrpcServiceOptions,
  MeshGrpcTarget,
  MeshProtoLoaderOptions,
} from './client/grpc-service.options.js';
export {
  MeshClientError,
  MeshGrpcCallError,
  MeshHandshakeError,
  MeshRequestError,
  type MeshHandshakeFailure,
  type MeshRequestFailure,
} from './client/mesh-client.errors.js';
export { MeshClientMessages } from './client/mesh-client.messages.js';
