import { metrics } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider } from '@opentelemetry/sdk-metrics';

/** The sample's OpenTelemetry metrics: one MeterProvider, read by a Prometheus exporter. */
export interface SampleTelemetry {
  /** Serves the Prometheus text format; the greeter's `GET /metrics` hands requests to it. */
  readonly exporter: PrometheusExporter;
  /** Flushes and unregisters the provider. */
  shutdown(): Promise<void>;
}

let current: SampleTelemetry | undefined;

/**
 * Registers the global MeterProvider, once, before any Nest app is created: `MeshSessionModule`
 * and `MeshClient` pick it up when they start. The exporter starts no server of its own
 * (`preventServerStart`): the greeter serves `/metrics` on its own port, through a controller.
 *
 * @returns the running telemetry
 */
export function startSampleTelemetry(): SampleTelemetry {
  if (current !== undefined) return current;
  const exporter = new PrometheusExporter({ preventServerStart: true });
  const provider = new MeterProvider({
    resource: resourceFromAttributes({ 'service.name': 'nestjs-mesh-session-sample' }),
    readers: [exporter],
  });
  metrics.setGlobalMeterProvider(provider);
  const started: SampleTelemetry = {
    exporter,
    shutdown: async () => {
      if (current === started) current = undefined;
      metrics.disable();
      await provider.shutdown();
    },
  };
  current = started;
  return started;
}

/**
 * The running telemetry's exporter, for the `/metrics` controller.
 *
 * @throws {Error} when {@link startSampleTelemetry} has not run
 */
export function sampleMetricsExporter(): PrometheusExporter {
  if (current === undefined) throw new Error('startSampleTelemetry() must run before the app');
  return current.exporter;
}
