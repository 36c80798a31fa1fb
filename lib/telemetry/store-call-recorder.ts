import type { Attributes, Span, SpanOptions, Tracer } from '@opentelemetry/api';
import {
  isStoreTimeout,
  type StoreCallMark,
  type StoreOperation,
} from '../core/session-telemetry.js';
import { BufferedHistogram } from './buffered-histogram.js';
import type { OtelApi } from './otel-api.js';
import type { MeshInstruments } from './mesh-instruments.js';
import { MESH_SESSION_ATTRIBUTES as A, MESH_SESSION_SPANS } from './mesh-telemetry.constants.js';

const OPERATIONS: readonly StoreOperation[] = [
  'create',
  'touch',
  'get',
  'claim_nonce_and_touch',
  'update_metadata',
  'delete',
  'find_by_service',
  'delete_by_service',
  'delete_expired',
  'count',
  'claim_nonce',
];

/** The attribute sets of one operation, built at startup. */
interface OperationAttributes {
  /**
   * Slot of the duration's attribute set for a call that answered (the operation alone); the
   * next two slots are a failed call's, by `error.type`: `timeout`, then `error`.
   */
  readonly slot: number;
  /** `mesh_session.store.errors`, by `error.type`, with the store's kind. */
  readonly timeoutError: Attributes;
  readonly errorError: Attributes;
  /** The span's kind and attributes (the operation and the store's kind). */
  readonly spanOptions: SpanOptions;
  readonly spanName: string;
}

/** A store call followed by a span; a bare start time otherwise. */
class SpanMark {
  constructor(
    readonly start: number | undefined,
    readonly span: Span,
  ) {}
}

/**
 * `error.type` of a failed store call: `timeout` when it (or what it wraps) is a time limit
 * that passed (see `isStoreTimeout`), `error` otherwise.
 *
 * @param error what the call threw
 * @returns `timeout` or `error`
 */
export function storeErrorType(error: unknown): 'timeout' | 'error' {
  return isStoreTimeout(error) ? 'timeout' : 'error';
}

/**
 * Times the store calls: `mesh_session.store.operation.duration` for every call (by operation,
 * and by `error.type` when it failed), `mesh_session.store.errors` for a failed one (with the
 * store's kind), and, inside a recording span (the server span of an HTTP or gRPC
 * instrumentation, a handshake, a cleanup run), a child span `mesh_session.store.<operation>`.
 * The span is not made active: the spans of a Redis client instrumentation are its siblings.
 * Attribute sets are built at startup; a call answered with metrics only costs two clock reads
 * and a value written into a {@link BufferedHistogram}.
 *
 * @example
 * ```ts
 * const mark = recorder.start('touch');
 * const session = await store.touch(id, now, idle, max); // on failure: recorder.failed(...)
 * recorder.succeeded('touch', mark);
 * ```
 */
export class StoreCallRecorder {
  private readonly attributes = new Map<StoreOperation, OperationAttributes>();
  /** `mesh_session.store.operation.duration`, when metrics are on. */
  private readonly durations: BufferedHistogram | undefined;

  /**
   * @param api the OpenTelemetry API
   * @param instruments the instruments, or `undefined` when metrics are off
   * @param tracer the tracer, or `undefined` when tracing is off
   * @param storeKind the `mesh_session.store.kind` value
   */
  constructor(
    private readonly api: OtelApi,
    private readonly instruments: MeshInstruments | undefined,
    private readonly tracer: Tracer | undefined,
    storeKind: string,
  ) {
    const durationSets: Attributes[] = [];
    for (const operation of OPERATIONS) {
      const ok = Object.freeze({ [A.storeOperation]: operation });
      const span = Object.freeze({ ...ok, [A.storeKind]: storeKind });
      const slot = durationSets.length;
      durationSets.push(
        ok,
        Object.freeze({ ...ok, [A.errorType]: 'timeout' }),
        Object.freeze({ ...ok, [A.errorType]: 'error' }),
      );
      this.attributes.set(operation, {
        slot,
        timeoutError: { ...span, [A.errorType]: 'timeout' },
        errorError: { ...span, [A.errorType]: 'error' },
        spanOptions: Object.freeze({ kind: api.SpanKind.INTERNAL, attributes: span }),
        spanName: `${MESH_SESSION_SPANS.storePrefix}${operation}`,
      });
    }
    this.durations =
      instruments === undefined
        ? undefined
        : new BufferedHistogram(instruments.storeOperationDuration, durationSets);
  }

  /**
   * Lets the durations wait for the next collection (see {@link BufferedHistogram}), or stops
   * it, flushing them.
   *
   * @param batching whether durations may wait; the owner then calls {@link flush} at every
   *   collection
   */
  hold(batching: boolean): void {
    this.durations?.hold(batching);
  }

  /** Hands the durations waiting to the SDK. */
  flush(): void {
    this.durations?.flush();
  }

  /**
   * A store call starts.
   *
   * @param operation which call
   * @returns its mark: its start time, or with a span its start time and its span
   */
  start(operation: StoreOperation): StoreCallMark {
    const span = this.tracer === undefined ? undefined : this.childSpan(operation);
    const start = this.instruments === undefined ? undefined : performance.now();
    return span === undefined ? start : new SpanMark(start, span);
  }

  /**
   * Follows a store call to its end.
   *
   * @param operation which call
   * @param mark what `start` returned
   * @param pending the call
   * @returns a promise that settles as `pending` does; `pending` when nothing is recorded
   */
  end<T>(operation: StoreOperation, mark: StoreCallMark, pending: Promise<T>): Promise<T> {
    if (this.instruments === undefined && !(mark instanceof SpanMark)) return pending;
    return this.follow(operation, mark, pending);
  }

  /**
   * A call the caller awaited answered.
   *
   * @param operation which call
   * @param mark what `start` returned
   */
  succeeded(operation: StoreOperation, mark: StoreCallMark): void {
    if (typeof mark === 'number') {
      // Metrics only: the common case, kept short.
      this.durations?.record(this.attributesOf(operation).slot, (performance.now() - mark) / 1000);
    } else if (mark instanceof SpanMark) {
      this.settle(operation, mark, undefined);
    }
  }

  /**
   * A call failed.
   *
   * @param operation which call
   * @param mark what `start` returned; `undefined` for a call that had none (the time limit of
   *   the active sessions gauge), of which only the error is counted
   * @param error what it threw
   */
  failed(operation: StoreOperation, mark: StoreCallMark, error: unknown): void {
    this.settle(operation, mark, storeErrorType(error));
  }

  private async follow<T>(
    operation: StoreOperation,
    mark: StoreCallMark,
    pending: Promise<T>,
  ): Promise<T> {
    let value: T;
    try {
      value = await pending;
    } catch (error) {
      this.failed(operation, mark, error);
      throw error;
    }
    this.succeeded(operation, mark);
    return value;
  }

  private settle(
    operation: StoreOperation,
    mark: StoreCallMark,
    errorType: 'timeout' | 'error' | undefined,
  ): void {
    const set = this.attributesOf(operation);
    const instruments = this.instruments;
    const start = mark instanceof SpanMark ? mark.start : mark;
    if (instruments !== undefined) {
      const timedOut = errorType === 'timeout';
      if (typeof start === 'number') {
        const slot = set.slot + (errorType === undefined ? 0 : timedOut ? 1 : 2);
        this.durations?.record(slot, (performance.now() - start) / 1000);
      }
      if (errorType !== undefined) {
        instruments.storeErrors.add(1, timedOut ? set.timeoutError : set.errorError);
      }
    }
    if (mark instanceof SpanMark) {
      if (errorType !== undefined) {
        mark.span.setAttribute(A.errorType, errorType);
        mark.span.setStatus({ code: this.api.SpanStatusCode.ERROR, message: errorType });
      }
      mark.span.end();
    }
  }

  /** A span for the call when a recording span is active, else `undefined`. */
  private childSpan(operation: StoreOperation): Span | undefined {
    const api = this.api;
    const active = api.context.active();
    const parent = api.trace.getSpan(active);
    if (parent === undefined || !parent.isRecording()) return undefined;
    const set = this.attributesOf(operation);
    // The context already read is handed over: the tracer would otherwise read it again.
    return (this.tracer as Tracer).startSpan(set.spanName, set.spanOptions, active);
  }

  private attributesOf(operation: StoreOperation): OperationAttributes {
    return this.attributes.get(operation) as OperationAttributes;
  }
}
