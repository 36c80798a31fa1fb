import type { Attributes, ObservableResult, Span, Tracer } from '@opentelemetry/api';
import type {
  HandshakeSide,
  InvalidationCause,
  SessionTelemetry,
  StoreCallMark,
  StoreOperation,
  TelemetryTransport,
} from '../core/session-telemetry.js';
import type { SessionStore } from '../core/session-store.js';
import { withTimeout } from '../core/with-timeout.js';
import { BufferedHistogram } from './buffered-histogram.js';
import { GuardRequestCounts } from './guard-request-counts.js';
import type { MeshInstruments } from './mesh-instruments.js';
import {
  CLIENT_HANDSHAKE_OUTCOMES,
  MESH_SESSION_ATTRIBUTES as A,
  MESH_SESSION_SPANS,
  SERVER_HANDSHAKE_OUTCOMES,
} from './mesh-telemetry.constants.js';
import type { OtelApi } from './otel-api.js';
import type { PeerServices } from './peer-services.js';
import { StoreCallRecorder, storeErrorType } from './store-call-recorder.js';

/** What {@link OtelSessionTelemetry} records with. */
export interface OtelSessionTelemetryParts {
  /** The OpenTelemetry API. */
  readonly api: OtelApi;
  /** The instruments, or `undefined` when metrics are off. */
  readonly instruments: MeshInstruments | undefined;
  /** The tracer, or `undefined` when tracing is off. */
  readonly tracer: Tracer | undefined;
  /** The `mesh_session.store.kind` value. */
  readonly storeKind: string;
  /** Which service ids may be recorded as `mesh_session.peer.service`. */
  readonly peers: PeerServices;
}

const OUTCOMES: Readonly<Record<HandshakeSide, ReadonlySet<string>>> = {
  server: new Set(SERVER_HANDSHAKE_OUTCOMES),
  client: new Set(CLIENT_HANDSHAKE_OUTCOMES),
};

/**
 * The OpenTelemetry {@link SessionTelemetry}: metrics through the library's instruments, spans
 * through its tracer, either of them possibly off. `MeshSessionModule` and `MeshClient` build it
 * when `@opentelemetry/api` is installed and an SDK records; otherwise they use the no-op one.
 *
 * On the guard's path nothing is allocated and the SDK is not called: the counts of
 * `mesh_session.guard.requests` are numbers in attribute sets built at startup, and the two
 * durations of a request let through are written into {@link BufferedHistogram}s, which a
 * server hands to the SDK at every collection (from the callback of
 * `mesh_session.guard.requests`) and whenever one is full.
 *
 * @example
 * ```ts
 * const telemetry = new OtelSessionTelemetry({ api, instruments, tracer, storeKind: 'memory', peers });
 * telemetry.observeServer(store, 2_000);
 * // at shutdown:
 * telemetry.close();
 * ```
 */
export class OtelSessionTelemetry implements SessionTelemetry {
  readonly enabled = true;
  private readonly api: OtelApi;
  private readonly instruments: MeshInstruments | undefined;
  private readonly tracer: Tracer | undefined;
  private readonly peers: PeerServices;
  private readonly storeCalls: StoreCallRecorder;
  private readonly guardCounts = new GuardRequestCounts();
  /**
   * `mesh_session.guard.duration` times the requests let through, without attributes (the
   * outcome, reason and transport are on `mesh_session.guard.requests`).
   */
  private readonly guardDurations: BufferedHistogram | undefined;
  private readonly attributeSets = new Map<string, Attributes>();
  private readonly kindAttributes: Attributes;
  /** Runs first at each collection: the durations held reach the SDK before it reads them. */
  private readonly observeGuard = (result: ObservableResult): void => {
    this.flushDurations();
    this.guardCounts.observe(result);
  };
  private observeActive: ((result: ObservableResult) => Promise<void>) | undefined;

  /** @param parts the API, the instruments and tracer (either may be off), the store kind */
  constructor(parts: OtelSessionTelemetryParts) {
    this.api = parts.api;
    this.instruments = parts.instruments;
    this.tracer = parts.tracer;
    this.peers = parts.peers;
    this.storeCalls = new StoreCallRecorder(
      parts.api,
      parts.instruments,
      parts.tracer,
      parts.storeKind,
    );
    this.kindAttributes = { [A.storeKind]: parts.storeKind };
    this.guardDurations =
      parts.instruments === undefined
        ? undefined
        : new BufferedHistogram(parts.instruments.guardDuration, [Object.freeze({})]);
  }

  /**
   * Starts the observable instruments of a server: `mesh_session.guard.requests`, and
   * `mesh_session.sessions.active`, the store's live sessions at each collection. A count that
   * fails or takes longer than `timeout` reports nothing (and counts as a store error). From
   * then on, the durations of the guard's requests wait for the collection (or a full batch).
   *
   * @param store the store
   * @param timeout the longest wait for the count (ms)
   */
  observeServer(store: SessionStore, timeout: number): void {
    const instruments = this.instruments;
    if (instruments === undefined || this.observeActive !== undefined) return;
    instruments.guardRequests.addCallback(this.observeGuard);
    this.holdDurations(true);
    this.observeActive = async (result) => {
      let live: number;
      try {
        const pending = this.endStoreCall(
          'count',
          this.startStoreCall('count'),
          store.count(Date.now()),
        );
        live = await withTimeout(pending, timeout);
      } catch (error) {
        if (storeErrorType(error) === 'timeout') this.storeCalls.failed('count', undefined, error);
        return;
      }
      result.observe(live, this.kindAttributes);
    };
    instruments.sessionsActive.addCallback(this.observeActive);
  }

  /**
   * Stops the observable instruments' callbacks, so that nothing reads the store once it is
   * closed, and hands the durations held to the SDK (later ones go at once). `MeshSessionModule`
   * calls it when the module is destroyed.
   */
  close(): void {
    if (this.observeActive === undefined) return;
    this.holdDurations(false);
    this.instruments?.guardRequests.removeCallback(this.observeGuard);
    this.instruments?.sessionsActive.removeCallback(this.observeActive);
    this.observeActive = undefined;
  }

  /** Nest's hook: see {@link close}. */
  onModuleDestroy(): void {
    this.close();
  }

  sessionCreated(): void {
    this.instruments?.sessionsCreated.add(1, this.kindAttributes);
  }

  sessionsExpired(count: number): void {
    this.instruments?.sessionsExpired.add(count, this.kindAttributes);
  }

  sessionsInvalidated(count: number, cause: InvalidationCause): void {
    this.instruments?.sessionsInvalidated.add(
      count,
      this.attributes(`invalidated|${cause}`, () => ({ [A.invalidationCause]: cause })),
    );
  }

  startStoreCall(operation: StoreOperation): StoreCallMark {
    return this.storeCalls.start(operation);
  }

  endStoreCall<T>(operation: StoreOperation, mark: StoreCallMark, pending: Promise<T>): Promise<T> {
    return this.storeCalls.end(operation, mark, pending);
  }

  storeCallSucceeded(operation: StoreOperation, mark: StoreCallMark): void {
    this.storeCalls.succeeded(operation, mark);
  }

  storeCallFailed(operation: StoreOperation, mark: StoreCallMark, error: unknown): void {
    this.storeCalls.failed(operation, mark, error);
  }

  startGuardCheck(): number {
    return this.instruments === undefined ? 0 : performance.now();
  }

  guardAllowed(transport: TelemetryTransport, started: number, serviceId: string): void {
    const durations = this.guardDurations;
    if (durations === undefined) return;
    this.guardCounts.allowed(transport === 'grpc' ? 1 : 0, this.peers.valueOf(serviceId));
    durations.record(0, (performance.now() - started) / 1000);
  }

  guardRefused(transport: TelemetryTransport, _started: number, reason: string): void {
    if (this.instruments === undefined) return;
    this.guardCounts.refused(transport === 'grpc' ? 1 : 0, reason);
  }

  async handshake<T>(
    side: HandshakeSide,
    transport: TelemetryTransport,
    peerService: string | undefined,
    run: () => Promise<T>,
    outcomeOf: (error: unknown) => string,
  ): Promise<T> {
    const api = this.api;
    const start = performance.now();
    const peer = this.peers.valueOf(peerService);
    const span = this.tracer?.startSpan(MESH_SESSION_SPANS.handshake, {
      kind: side === 'client' ? api.SpanKind.CLIENT : api.SpanKind.INTERNAL,
      attributes: {
        [A.handshakeSide]: side,
        [A.transport]: transport,
        ...(peer === undefined ? {} : { [A.peerService]: peer }),
      },
    });
    let outcome = 'success';
    try {
      return await this.within(span, run);
    } catch (error) {
      const named = outcomeOf(error);
      outcome = OUTCOMES[side].has(named) && named !== 'success' ? named : 'error';
      throw error;
    } finally {
      const key = `handshake|${side}|${transport}|${outcome}`;
      const attributes = this.attributes(key, () => ({
        [A.handshakeSide]: side,
        [A.transport]: transport,
        [A.outcome]: outcome,
      }));
      const instruments = this.instruments;
      if (instruments !== undefined) {
        instruments.handshakeDuration.record((performance.now() - start) / 1000, attributes);
        instruments.handshakes.add(
          1,
          peer === undefined
            ? attributes
            : this.attributes(`${key}|${peer}`, () => ({ ...attributes, [A.peerService]: peer })),
        );
      }
      this.endSpan(span, outcome, outcome !== 'success');
    }
  }

  async cleanup(run: () => Promise<number>): Promise<number> {
    const start = performance.now();
    const span = this.tracer?.startSpan(MESH_SESSION_SPANS.cleanup, {
      kind: this.api.SpanKind.INTERNAL,
      attributes: this.kindAttributes,
    });
    let outcome = 'success';
    try {
      const removed = await this.within(span, run);
      this.instruments?.cleanupRemoved.add(removed, this.kindAttributes);
      span?.setAttribute(A.cleanupRemoved, removed);
      return removed;
    } catch (error) {
      outcome = 'error';
      span?.setAttribute(A.errorType, storeErrorType(error));
      throw error;
    } finally {
      this.instruments?.cleanupDuration.record(
        (performance.now() - start) / 1000,
        this.attributes(`cleanup|${outcome}`, () => ({
          ...this.kindAttributes,
          [A.outcome]: outcome,
        })),
      );
      this.endSpan(span, outcome, outcome !== 'success');
    }
  }

  injectTraceContext(carrier: Record<string, string>): void {
    if (this.tracer === undefined) return;
    this.api.propagation.inject(this.api.context.active(), carrier);
  }

  private holdDurations(batching: boolean): void {
    this.guardDurations?.hold(batching);
    this.storeCalls.hold(batching);
  }

  private flushDurations(): void {
    this.guardDurations?.flush();
    this.storeCalls.flush();
  }

  /** Runs `run` with `span` as the active span, so that the spans it starts are its children. */
  private within<T>(span: Span | undefined, run: () => Promise<T>): Promise<T> {
    if (span === undefined) return run();
    const api = this.api;
    return api.context.with(api.trace.setSpan(api.context.active(), span), run);
  }

  private endSpan(span: Span | undefined, outcome: string, failed: boolean): void {
    if (span === undefined) return;
    span.setAttribute(A.outcome, outcome);
    if (failed) span.setStatus({ code: this.api.SpanStatusCode.ERROR, message: outcome });
    span.end();
  }

  /** An attribute set of a cold path (handshakes, cleanup), built once per distinct key. */
  private attributes(key: string, build: () => Attributes): Attributes {
    let attributes = this.attributeSets.get(key);
    if (attributes === undefined) {
      attributes = build();
      this.attributeSets.set(key, attributes);
    }
    return attributes;
  }
}
