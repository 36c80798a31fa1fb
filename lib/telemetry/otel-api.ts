import type * as OpenTelemetryApi from '@opentelemetry/api';

/** The `@opentelemetry/api` module. */
export type OtelApi = typeof OpenTelemetryApi;

let loading: Promise<OtelApi | undefined> | undefined;

/**
 * Loads the optional peer `@opentelemetry/api`, once per process: with `import()`, so that the
 * package's entries load without it.
 *
 * @returns the API, or `undefined` when the package is not installed
 * @throws whatever else loading it throws (a broken install is not hidden)
 * @example
 * ```ts
 * const api = await loadOpenTelemetryApi();
 * if (api === undefined) return NOOP_SESSION_TELEMETRY;
 * ```
 */
export function loadOpenTelemetryApi(): Promise<OtelApi | undefined> {
  loading ??= import('@opentelemetry/api').then(
    (api) => api,
    (error: unknown) => {
      if (isModuleNotFound(error)) return undefined;
      loading = undefined;
      throw error;
    },
  );
  return loading;
}

/** Whether `import()` failed because the package is not installed. */
function isModuleNotFound(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
}

/**
 * The meter to record with: the given provider's, or the global one's when an SDK registered a
 * provider.
 *
 * @param api the API
 * @param provider the `telemetry.meterProvider` option
 * @param scope the instrumentation scope's name
 * @returns the meter, or `undefined` when nothing would record
 */
export function meterOf(
  api: OtelApi,
  provider: { getMeter(name: string): unknown } | undefined,
  scope: string,
): OpenTelemetryApi.Meter | undefined {
  const meter = (provider ?? api.metrics.getMeterProvider()).getMeter(scope) as
    OpenTelemetryApi.Meter | undefined;
  // With no SDK registered, the API hands out its one no-op meter.
  return meter === undefined || meter === api.createNoopMeter() ? undefined : meter;
}

/**
 * The tracer to record with: the given provider's, or the global one's when an SDK registered a
 * provider.
 *
 * @param api the API
 * @param provider the `telemetry.tracerProvider` option
 * @param scope the instrumentation scope's name
 * @returns the tracer, or `undefined` when nothing would record
 */
export function tracerOf(
  api: OtelApi,
  provider: { getTracer(name: string): unknown } | undefined,
  scope: string,
): OpenTelemetryApi.Tracer | undefined {
  if (provider !== undefined) return provider.getTracer(scope) as OpenTelemetryApi.Tracer;
  const global = api.trace.getTracerProvider() as OpenTelemetryApi.TracerProvider & {
    getDelegate?: () => OpenTelemetryApi.TracerProvider;
  };
  // The global provider is a proxy; with no SDK registered, it delegates to the no-op provider
  // that a fresh proxy also delegates to.
  const delegate = typeof global.getDelegate === 'function' ? global.getDelegate() : global;
  if (delegate === new api.ProxyTracerProvider().getDelegate()) return undefined;
  return delegate.getTracer(scope);
}
