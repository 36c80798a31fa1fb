import type {
  Counter,
  Histogram,
  Meter,
  ObservableCounter,
  ObservableGauge,
} from '@opentelemetry/api';
import { DURATION_BUCKETS, MESH_SESSION_METRICS as M } from './mesh-telemetry.constants.js';

/**
 * The library's instruments on one meter, named and typed after OpenTelemetry's semantic
 * conventions: dotted names under `mesh_session.`, UCUM units (`s`, `{session}`), counters named
 * for what they count. Durations share one set of buckets, from 10 µs to 5 s.
 *
 * `mesh_session.guard.requests` is an observable counter: the guard increments a number per
 * request and the reader collects the totals, so that a guarded request costs no call into the
 * SDK for it.
 *
 * @example
 * ```ts
 * const instruments = new MeshInstruments(meter);
 * instruments.sessionsCreated.add(1);
 * ```
 */
export class MeshInstruments {
  readonly sessionsActive: ObservableGauge;
  readonly sessionsCreated: Counter;
  readonly sessionsExpired: Counter;
  readonly sessionsInvalidated: Counter;
  readonly guardRequests: ObservableCounter;
  readonly guardDuration: Histogram;
  readonly handshakes: Counter;
  readonly handshakeDuration: Histogram;
  readonly storeOperationDuration: Histogram;
  readonly storeErrors: Counter;
  readonly cleanupDuration: Histogram;
  readonly cleanupRemoved: Counter;

  /** @param meter the meter of the library's scope */
  constructor(meter: Meter) {
    const seconds = (name: string, description: string): Histogram =>
      meter.createHistogram(name, {
        description,
        unit: 's',
        advice: { explicitBucketBoundaries: [...DURATION_BUCKETS] },
      });
    this.sessionsActive = meter.createObservableGauge(M.sessionsActive, {
      description: 'Live sessions in the store (expired sessions not yet cleaned up excluded).',
      unit: '{session}',
    });
    this.sessionsCreated = meter.createCounter(M.sessionsCreated, {
      description: 'Sessions created.',
      unit: '{session}',
    });
    this.sessionsExpired = meter.createCounter(M.sessionsExpired, {
      description: 'Sessions found expired, on access or by cleanup, and removed.',
      unit: '{session}',
    });
    this.sessionsInvalidated = meter.createCounter(M.sessionsInvalidated, {
      description: 'Sessions ended on purpose, by cause.',
      unit: '{session}',
    });
    this.guardRequests = meter.createObservableCounter(M.guardRequests, {
      description: 'Requests checked by SessionGuard, by outcome and refusal reason.',
      unit: '{request}',
    });
    this.guardDuration = seconds(
      M.guardDuration,
      "Duration of SessionGuard's check of the requests it let through.",
    );
    this.handshakes = meter.createCounter(M.handshakes, {
      description: 'Handshakes, by side and outcome.',
      unit: '{handshake}',
    });
    this.handshakeDuration = seconds(M.handshakeDuration, 'Duration of a handshake.');
    this.storeOperationDuration = seconds(
      M.storeOperationDuration,
      'Duration of a session store call, by operation.',
    );
    this.storeErrors = meter.createCounter(M.storeErrors, {
      description: 'Session store calls that failed or timed out, by operation.',
      unit: '{error}',
    });
    this.cleanupDuration = seconds(M.cleanupDuration, 'Duration of a cleanup run.');
    this.cleanupRemoved = meter.createCounter(M.cleanupRemoved, {
      description: 'Expired sessions removed by cleanup.',
      unit: '{session}',
    });
  }
}
