import { StoreTimeoutError } from './with-timeout.js';

/** Which transport carried a guarded request or a handshake. */
export type TelemetryTransport = 'http' | 'grpc';

/** Which end of a handshake is recording it. */
export type HandshakeSide = 'server' | 'client';

/**
 * A call of the `SessionStore` contract (by `SessionManager`, the handshake and the active
 * sessions gauge): the value of the `mesh_session.store.operation` attribute.
 */
export type StoreOperation =
  | 'create'
  | 'touch'
  | 'get'
  | 'claim_nonce_and_touch'
  | 'update_metadata'
  | 'delete'
  | 'find_by_service'
  | 'delete_by_service'
  | 'delete_expired'
  | 'count'
  | 'claim_nonce';

/**
 * Why sessions were ended on purpose: `invalidated` (`invalidateSession`), `revoked` (found
 * with `metadata.revoked`), `service` (`invalidateSessionsByServiceId`).
 */
export type InvalidationCause = 'invalidated' | 'revoked' | 'service';

/** What {@link SessionTelemetry.startStoreCall} hands out, to give back to `endStoreCall`. */
export type StoreCallMark = unknown;

/**
 * Where the library reports what it does, for metrics and traces: the manager, the guard, the
 * handshake, the cleanup job and `MeshClient` call it, and never see which backend records.
 * `MeshSessionModule` provides an OpenTelemetry implementation when `@opentelemetry/api` is
 * installed and an SDK is registered, and {@link NOOP_SESSION_TELEMETRY} otherwise, chosen once
 * at startup: with nothing to record, every method is empty.
 *
 * No method takes a session id, a key or a signature: nothing that records can leak one.
 *
 * @example
 * ```ts
 * const mark = telemetry.startStoreCall('touch');
 * const session = await telemetry.endStoreCall('touch', mark, store.touch(id, now, idle, max));
 * ```
 */
export interface SessionTelemetry {
  /** Whether anything records: lets a caller skip work that only feeds telemetry. */
  readonly enabled: boolean;

  /** A session was created. */
  sessionCreated(): void;

  /**
   * Sessions were found expired (on access, or by cleanup) and removed.
   *
   * @param count how many
   */
  sessionsExpired(count: number): void;

  /**
   * Sessions were ended on purpose.
   *
   * @param count how many
   * @param cause why
   */
  sessionsInvalidated(count: number, cause: InvalidationCause): void;

  /**
   * A store call starts: called before the call is made, so that a store answering
   * synchronously is timed too.
   *
   * @param operation which call
   * @returns the mark to hand to {@link endStoreCall}
   */
  startStoreCall(operation: StoreOperation): StoreCallMark;

  /**
   * Follows a store call to its end, and records its duration and, when it fails, its error.
   *
   * @param operation which call
   * @param mark what `startStoreCall` returned
   * @param pending the call
   * @returns a promise that settles as `pending` does (`pending` itself when nothing records)
   */
  endStoreCall<T>(operation: StoreOperation, mark: StoreCallMark, pending: Promise<T>): Promise<T>;

  /**
   * A store call the caller awaited itself answered: the guard's calls report this way, which
   * adds no promise to the request.
   *
   * @param operation which call
   * @param mark what `startStoreCall` returned
   */
  storeCallSucceeded(operation: StoreOperation, mark: StoreCallMark): void;

  /**
   * A store call the caller awaited itself failed.
   *
   * @param operation which call
   * @param mark what `startStoreCall` returned
   * @param error what it threw
   */
  storeCallFailed(operation: StoreOperation, mark: StoreCallMark, error: unknown): void;

  /**
   * The guard starts checking a request.
   *
   * @returns the start time to hand back (`0` when nothing records)
   */
  startGuardCheck(): number;

  /**
   * The guard let a request through.
   *
   * @param transport the request's transport
   * @param started what `startGuardCheck` returned
   * @param serviceId the session's service; recorded only when the telemetry options allow it
   */
  guardAllowed(transport: TelemetryTransport, started: number, serviceId: string): void;

  /**
   * The guard refused a request.
   *
   * @param transport the request's transport
   * @param started what `startGuardCheck` returned
   * @param reason one of the guard's refusal reasons; anything else is recorded as `other`
   */
  guardRefused(transport: TelemetryTransport, started: number, reason: string): void;

  /**
   * Runs one handshake, timed and (when tracing) inside a span of its own.
   *
   * @param side which end runs it
   * @param transport how it travels
   * @param peerService the other end's service id when it is a pinned one; recorded only when
   *   the telemetry options allow it
   * @param run the handshake
   * @param outcomeOf the outcome of a handshake that threw (a short, bounded word)
   * @returns what `run` returns
   */
  handshake<T>(
    side: HandshakeSide,
    transport: TelemetryTransport,
    peerService: string | undefined,
    run: () => Promise<T>,
    outcomeOf: (error: unknown) => string,
  ): Promise<T>;

  /**
   * Runs one cleanup, timed and (when tracing) inside a span of its own.
   *
   * @param run the cleanup
   * @returns how many sessions it removed
   */
  cleanup(run: () => Promise<number>): Promise<number>;

  /**
   * Writes the active trace context (W3C `traceparent`, `tracestate`) into outgoing headers or
   * metadata.
   *
   * @param carrier the headers or metadata of an outgoing call
   */
  injectTraceContext(carrier: Record<string, string>): void;
}

/**
 * The telemetry of a library with nothing to record: every method is empty, store calls are
 * handed back as they are, and callbacks run as they are.
 */
export const NOOP_SESSION_TELEMETRY: SessionTelemetry = Object.freeze({
  enabled: false,
  sessionCreated: (): void => undefined,
  sessionsExpired: (): void => undefined,
  sessionsInvalidated: (): void => undefined,
  startStoreCall: (): StoreCallMark => undefined,
  endStoreCall: <T>(_operation: StoreOperation, _mark: StoreCallMark, pending: Promise<T>) =>
    pending,
  storeCallSucceeded: (): void => undefined,
  storeCallFailed: (): void => undefined,
  startGuardCheck: (): number => 0,
  guardAllowed: (): void => undefined,
  guardRefused: (): void => undefined,
  handshake: <T>(
    _side: HandshakeSide,
    _transport: TelemetryTransport,
    _peer: string | undefined,
    run: () => Promise<T>,
  ): Promise<T> => run(),
  cleanup: (run: () => Promise<number>): Promise<number> => run(),
  injectTraceContext: (): void => undefined,
});

/**
 * Injection token of the {@link SessionTelemetry} that `MeshSessionModule` provides.
 *
 * @example
 * ```ts
 * constructor(@Inject(SESSION_TELEMETRY) private readonly telemetry: SessionTelemetry) {}
 * ```
 */
export const SESSION_TELEMETRY = Symbol('SESSION_TELEMETRY');

/**
 * Whether a store failure is a time limit that passed: the library's `StoreTimeoutError`, or
 * ioredis's `Command timed out`, possibly wrapped (as `cause`) by the store's own error. The
 * guard's `store_timeout` refusals and the `timeout` value of `error.type` both follow it.
 *
 * @param error what the store call threw
 * @returns `true` for a timeout
 * @example
 * ```ts
 * isStoreTimeout(new StoreTimeoutError(2_000)); // true
 * ```
 */
export function isStoreTimeout(error: unknown): boolean {
  let cause = error;
  for (let depth = 0; depth < 5 && cause instanceof Error; depth++) {
    if (cause instanceof StoreTimeoutError || cause.message === 'Command timed out') return true;
    cause = cause.cause;
  }
  return false;
}
