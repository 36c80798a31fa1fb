import type { SessionStore } from '../core/session-store.js';
import { NOOP_SESSION_TELEMETRY, type SessionTelemetry } from '../core/session-telemetry.js';
import { MeshInstruments } from './mesh-instruments.js';
import { MESH_TELEMETRY_SCOPE } from './mesh-telemetry.constants.js';
import { loadOpenTelemetryApi, meterOf, tracerOf } from './otel-api.js';
import { OtelSessionTelemetry } from './otel-session-telemetry.js';
import { PeerServices } from './peer-services.js';
import type { ResolvedTelemetryOptions } from './telemetry.options.js';

/** What the telemetry records about, besides the options. */
export interface TelemetryTarget {
  /** A server's store: its live sessions become `mesh_session.sessions.active`. */
  readonly store?: SessionStore;
  /** The longest wait for the store's count (ms). */
  readonly storeTimeout?: number;
  /** The pinned service ids, which `mesh_session.peer.service` may name by default. */
  readonly pinnedServices: Iterable<string>;
}

/**
 * Chooses, once, how the library records: the OpenTelemetry recorder when
 * `@opentelemetry/api` is installed, telemetry is enabled and a meter provider or a tracer
 * provider would record (given in the options, or registered globally by an SDK); the no-op
 * recorder otherwise, whose methods are empty.
 *
 * @param options the resolved `telemetry` option
 * @param target the store and the pinned services
 * @returns the recorder
 * @example
 * ```ts
 * const telemetry = await createSessionTelemetry(options.telemetry, {
 *   store, storeTimeout: 2_000, pinnedServices: ['caller'],
 * });
 * ```
 */
export async function createSessionTelemetry(
  options: ResolvedTelemetryOptions,
  target: TelemetryTarget,
): Promise<SessionTelemetry> {
  if (!options.enabled) return NOOP_SESSION_TELEMETRY;
  const api = await loadOpenTelemetryApi();
  if (api === undefined) return NOOP_SESSION_TELEMETRY;
  const meter = meterOf(api, options.meterProvider, MESH_TELEMETRY_SCOPE);
  const tracer = tracerOf(api, options.tracerProvider, MESH_TELEMETRY_SCOPE);
  if (meter === undefined && tracer === undefined) return NOOP_SESSION_TELEMETRY;
  const telemetry = new OtelSessionTelemetry({
    api,
    instruments: meter === undefined ? undefined : new MeshInstruments(meter),
    tracer,
    storeKind: target.store?.telemetryKind ?? 'none',
    peers: new PeerServices(options.peerServiceAttribute, target.pinnedServices),
  });
  if (target.store !== undefined) {
    telemetry.observeServer(target.store, target.storeTimeout ?? 2_000);
  }
  return telemetry;
}
