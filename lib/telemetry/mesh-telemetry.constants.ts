/**
 * Name of the meter and of the tracer the library records with (its instrumentation scope).
 *
 * @example
 * ```ts
 * inMemorySpanExporter.getFinishedSpans().filter((s) => s.instrumentationScope.name === MESH_TELEMETRY_SCOPE);
 * ```
 */
export const MESH_TELEMETRY_SCOPE = 'nestjs-mesh-session';

/**
 * The names of the library's metrics, as OpenTelemetry names them (a Prometheus exporter turns
 * the dots into underscores, adds the unit, such as `_seconds`, and `_total` to counters).
 *
 * @example
 * ```ts
 * MESH_SESSION_METRICS.guardRequests; // 'mesh_session.guard.requests'
 * ```
 */
export const MESH_SESSION_METRICS = Object.freeze({
  /** Observable gauge, `{session}`: live sessions in the store. */
  sessionsActive: 'mesh_session.sessions.active',
  /** Counter, `{session}`: sessions created. */
  sessionsCreated: 'mesh_session.sessions.created',
  /** Counter, `{session}`: sessions found expired (on access or by cleanup) and removed. */
  sessionsExpired: 'mesh_session.sessions.expired',
  /** Counter, `{session}`: sessions ended on purpose, by cause. */
  sessionsInvalidated: 'mesh_session.sessions.invalidated',
  /** Counter, `{request}`: requests the guard checked, by outcome and refusal reason. */
  guardRequests: 'mesh_session.guard.requests',
  /** Histogram, `s`: how long the guard's check of a request it let through took. */
  guardDuration: 'mesh_session.guard.duration',
  /** Counter, `{handshake}`: handshakes, by side and outcome. */
  handshakes: 'mesh_session.handshakes',
  /** Histogram, `s`: how long a handshake took, by side and outcome. */
  handshakeDuration: 'mesh_session.handshake.duration',
  /** Histogram, `s`: how long a store call took, by operation. */
  storeOperationDuration: 'mesh_session.store.operation.duration',
  /** Counter, `{error}`: store calls that failed or timed out, by operation. */
  storeErrors: 'mesh_session.store.errors',
  /** Histogram, `s`: how long a cleanup run took. */
  cleanupDuration: 'mesh_session.cleanup.duration',
  /** Counter, `{session}`: sessions cleanup removed. */
  cleanupRemoved: 'mesh_session.cleanup.removed',
});

/**
 * The attributes of the library's metrics and spans. Every value comes from a bounded set;
 * `mesh_session.peer.service` appears only under the conditions of the `peerServiceAttribute`
 * option. No attribute ever holds a session id, a key or a signature.
 */
export const MESH_SESSION_ATTRIBUTES = Object.freeze({
  /** `allowed` or `refused` (guard); `success` or a failure word (handshake, cleanup). */
  outcome: 'mesh_session.outcome',
  /** Why the guard refused a request: see {@link GUARD_REFUSAL_REASONS}. */
  refusalReason: 'mesh_session.refusal.reason',
  /** `http` or `grpc`. */
  transport: 'mesh_session.transport',
  /** `server` or `client`. */
  handshakeSide: 'mesh_session.handshake.side',
  /** The service at the other end: a pinned identity, or as the option allows. */
  peerService: 'mesh_session.peer.service',
  /** The store call: `touch`, `get`, `claim_nonce_and_touch`, `create`, ... */
  storeOperation: 'mesh_session.store.operation',
  /** `memory`, `redis`, or `custom`. */
  storeKind: 'mesh_session.store.kind',
  /** Why sessions were ended on purpose: `invalidated`, `revoked` or `service`. */
  invalidationCause: 'mesh_session.invalidation.cause',
  /** A failed store call or cleanup run: `timeout` or `error` (OpenTelemetry's `error.type`). */
  errorType: 'error.type',
  /** Span attribute of `mesh_session.cleanup`: how many sessions the run removed. */
  cleanupRemoved: 'mesh_session.cleanup.removed',
});

/**
 * Every value of `mesh_session.refusal.reason`: the guard's refusals, and `other` for a refusal
 * the table beside the guard does not know (a subclass's own, for example).
 */
export const GUARD_REFUSAL_REASONS = Object.freeze([
  'missing',
  'invalid',
  'unknown_or_expired',
  'revoked',
  'rate_limited',
  'store_unavailable',
  'store_timeout',
  'message_undecodable',
  'signature_missing',
  'signature_malformed',
  'signature_incomplete',
  'signature_algorithm',
  'signature_stale',
  'signature_replayed',
  'digest_mismatch',
  'body_unverifiable',
  'signature_invalid',
  'other',
] as const);

/**
 * Every outcome of a handshake on the server: `success`, `failed` (the generic 401),
 * `rate_limited` (429), `store_unavailable` (503), `error` (anything else).
 */
export const SERVER_HANDSHAKE_OUTCOMES = Object.freeze([
  'success',
  'failed',
  'rate_limited',
  'store_unavailable',
  'error',
] as const);

/**
 * Every outcome of a handshake in `MeshClient`: `success`, or the `reason` of the
 * `MeshHandshakeError` it threw, or `error` for any other error.
 */
export const CLIENT_HANDSHAKE_OUTCOMES = Object.freeze([
  'success',
  'rejected',
  'rate_limited',
  'unavailable',
  'http',
  'grpc',
  'invalid_reply',
  'timeout',
  'network',
  'error',
] as const);

/**
 * Bucket boundaries (seconds) of the library's histograms: from 10 µs (a memory-store check)
 * to 5 s (a slow store, a cleanup of millions of sessions).
 */
export const DURATION_BUCKETS: readonly number[] = Object.freeze([
  0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
  0.25, 0.5, 1, 2.5, 5,
]);

/** Span names. */
export const MESH_SESSION_SPANS = Object.freeze({
  /** A handshake: INTERNAL on the server (inside the transport's server span), CLIENT in MeshClient. */
  handshake: 'mesh_session.handshake',
  /** A cleanup run (INTERNAL). */
  cleanup: 'mesh_session.cleanup',
  /** Prefix of a store call's span (INTERNAL), such as `mesh_session.store.touch`. */
  storePrefix: 'mesh_session.store.',
});

/**
 * Most distinct values `mesh_session.peer.service` takes when `peerServiceAttribute` is `true`;
 * further services are recorded without the attribute.
 */
export const MAX_PEER_SERVICE_VALUES = 100;
