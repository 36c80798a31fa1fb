import type { OptionChecks } from '../core/option-checks.js';

/**
 * The part of an OpenTelemetry `MeterProvider` the library uses. Named here, so that the
 * package's types never require the optional peer `@opentelemetry/api`.
 */
export interface MeterProviderLike {
  /** Returns a meter of the OpenTelemetry metrics API. */
  getMeter(name: string, version?: string, options?: object): unknown;
}

/**
 * The part of an OpenTelemetry `TracerProvider` the library uses. Named here, so that the
 * package's types never require the optional peer `@opentelemetry/api`.
 */
export interface TracerProviderLike {
  /** Returns a tracer of the OpenTelemetry trace API. */
  getTracer(name: string, version?: string, options?: object): unknown;
}

/**
 * The `telemetry` option of `MeshSessionModule` and `MeshClientModule`: OpenTelemetry metrics
 * and traces. They need the optional peer `@opentelemetry/api` and an OpenTelemetry SDK;
 * without either, nothing is recorded and nothing costs.
 *
 * @example
 * ```ts
 * // The SDK registered globally (NodeSDK, or metrics.setGlobalMeterProvider) before the app
 * // is created: nothing to set. Or, explicitly:
 * MeshSessionModule.forRoot({ telemetry: { meterProvider, tracerProvider } });
 * ```
 */
export interface MeshTelemetryOptions {
  /**
   * Whether to record at all.
   *
   * @default true
   */
  enabled?: boolean;
  /**
   * Where metrics go: an OpenTelemetry SDK `MeterProvider`.
   *
   * @default the global one (`metrics.getMeterProvider()`), when an SDK registered one
   */
  meterProvider?: MeterProviderLike;
  /**
   * Where spans go: an OpenTelemetry SDK `TracerProvider`. Spans join the active context, so
   * a context manager must be registered (the SDK's `NodeSDK` does it).
   *
   * @default the global one (`trace.getTracerProvider()`), when an SDK registered one
   */
  tracerProvider?: TracerProviderLike;
  /**
   * When `mesh_session.peer.service` (the other end's service id) is recorded: `'pinned'`, for
   * the ids of `handshake.trustedServices` on a server and the configured services in
   * `MeshClient` (a fixed set); `true`, for any session's service id, up to 100 distinct values
   * (for sessions created by the app's own code with ids it controls); `false`, never.
   *
   * @default 'pinned'
   */
  peerServiceAttribute?: boolean | 'pinned';
}

/** The `telemetry` option after validation. */
export interface ResolvedTelemetryOptions {
  readonly enabled: boolean;
  readonly meterProvider: MeterProviderLike | undefined;
  readonly tracerProvider: TracerProviderLike | undefined;
  readonly peerServiceAttribute: boolean | 'pinned';
}

/** The `telemetry` option when it is not given. */
export const DEFAULT_TELEMETRY_OPTIONS: ResolvedTelemetryOptions = Object.freeze({
  enabled: true,
  meterProvider: undefined,
  tracerProvider: undefined,
  peerServiceAttribute: 'pinned' as const,
});

const TELEMETRY_KEYS = ['enabled', 'meterProvider', 'tracerProvider', 'peerServiceAttribute'];

/**
 * Validates the `telemetry` option.
 *
 * @param check the checks of the options object it belongs to
 * @param value what the user passed
 * @returns the resolved option
 * @throws {Error} naming the first bad or unknown key
 * @example
 * ```ts
 * resolveTelemetryOptions(MODULE_OPTION_CHECKS, { peerServiceAttribute: true });
 * ```
 */
export function resolveTelemetryOptions(
  check: OptionChecks,
  value: MeshTelemetryOptions | undefined,
): ResolvedTelemetryOptions {
  if (value === undefined) return DEFAULT_TELEMETRY_OPTIONS;
  check.knownKeys(
    'telemetry',
    value,
    TELEMETRY_KEYS,
    'an object { enabled?, meterProvider?, tracerProvider?, peerServiceAttribute? }',
  );
  const { meterProvider, tracerProvider, peerServiceAttribute } = value;
  if (meterProvider !== undefined && typeof meterProvider?.getMeter !== 'function') {
    check.fail('telemetry.meterProvider', 'an OpenTelemetry MeterProvider', meterProvider);
  }
  if (tracerProvider !== undefined && typeof tracerProvider?.getTracer !== 'function') {
    check.fail('telemetry.tracerProvider', 'an OpenTelemetry TracerProvider', tracerProvider);
  }
  if (
    peerServiceAttribute !== undefined &&
    typeof peerServiceAttribute !== 'boolean' &&
    peerServiceAttribute !== 'pinned'
  ) {
    check.fail('telemetry.peerServiceAttribute', "true, false or 'pinned'", peerServiceAttribute);
  }
  return Object.freeze({
    enabled: check.boolean('telemetry.enabled', value.enabled, true),
    meterProvider,
    tracerProvider,
    peerServiceAttribute: peerServiceAttribute ?? 'pinned',
  });
}
