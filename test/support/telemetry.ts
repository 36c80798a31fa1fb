import {
  context,
  propagation,
  trace,
  type Attributes,
  type Context,
  type Span,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  AggregationTemporality,
  DataPointType,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
  type MetricData,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import type { MeshTelemetryOptions } from '../../lib/index.js';

/** One data point of a metric, flattened: `value` is the sum, the gauge value, or the count. */
export interface Point {
  attributes: Attributes;
  value: number;
  /** Histograms only. */
  sum?: number;
}

/**
 * An OpenTelemetry SDK of a test's own: a MeterProvider read by a PeriodicExportingMetricReader
 * into an InMemoryMetricExporter (flushed on demand, cumulative), and a BasicTracerProvider
 * whose spans go through a SimpleSpanProcessor into an InMemorySpanExporter. Nothing global
 * but the context manager and the W3C propagator (what `NodeSDK` registers too), so that every
 * test passes its providers through the `telemetry` option and stays isolated.
 *
 * @example
 * ```ts
 * const otel = new TestTelemetry();
 * MeshSessionModule.forRoot({ telemetry: otel.options });
 * expect(await otel.sum('mesh_session.sessions.created')).toBe(1);
 * ```
 */
export class TestTelemetry {
  readonly metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  readonly reader = new PeriodicExportingMetricReader({
    exporter: this.metricExporter,
    // Flushed by the tests; no export ever happens on its own during one.
    exportIntervalMillis: 3_600_000,
  });
  readonly meterProvider = new MeterProvider({ readers: [this.reader] });
  readonly spanExporter = new InMemorySpanExporter();
  readonly tracerProvider = new BasicTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(this.spanExporter)],
  });

  /** The `telemetry` option that routes the library's metrics and spans here. */
  get options(): MeshTelemetryOptions {
    return { meterProvider: this.meterProvider, tracerProvider: this.tracerProvider };
  }

  /** Registers the context manager and the W3C propagator, for spans to nest and travel. */
  static registerContext(): void {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  }

  /** Undoes {@link registerContext}. */
  static unregisterContext(): void {
    context.disable();
    propagation.disable();
  }

  /** Every metric of the library in a fresh export. */
  async metrics(): Promise<MetricData[]> {
    this.metricExporter.reset();
    await this.reader.forceFlush();
    const exported = this.metricExporter.getMetrics();
    return exported.flatMap((resource) =>
      resource.scopeMetrics
        .filter((scope) => scope.scope.name === 'nestjs-mesh-session')
        .flatMap((scope) => scope.metrics),
    );
  }

  /** The data points of one metric, in a fresh export; `[]` when it has none. */
  async points(name: string): Promise<Point[]> {
    const metric = (await this.metrics()).find((m) => m.descriptor.name === name);
    if (metric === undefined) return [];
    return metric.dataPoints.map((point) => {
      if (metric.dataPointType === DataPointType.HISTOGRAM) {
        const value = point.value as { count: number; sum?: number };
        return { attributes: point.attributes, value: value.count, sum: value.sum };
      }
      return { attributes: point.attributes, value: point.value as number };
    });
  }

  /** The total of a metric over the points whose attributes include `where`. */
  async sum(name: string, where: Attributes = {}): Promise<number> {
    return (await this.points(name))
      .filter((point) => matches(point.attributes, where))
      .reduce((total, point) => total + point.value, 0);
  }

  /** The finished spans, optionally of one name. */
  spans(name?: string): ReadableSpan[] {
    const spans = this.spanExporter.getFinishedSpans();
    return name === undefined ? spans : spans.filter((span) => span.name === name);
  }

  /**
   * Everything exported as text: every metric's attributes, every span's name, attributes,
   * status and events, and the resource. For leak checks.
   */
  async exportedText(): Promise<string> {
    const metrics = await this.metrics();
    return JSON.stringify({
      metrics: metrics.map((m) => ({
        name: m.descriptor.name,
        points: m.dataPoints.map((p) => p.attributes),
      })),
      spans: this.spans().map((span) => ({
        name: span.name,
        attributes: span.attributes,
        status: span.status,
        events: span.events,
        links: span.links,
      })),
    });
  }

  /** Flushes and stops both providers. */
  async shutdown(): Promise<void> {
    await this.meterProvider.shutdown();
    await this.tracerProvider.shutdown();
  }
}

/** Whether `attributes` has every entry of `where`. */
export function matches(attributes: Attributes, where: Attributes): boolean {
  return Object.entries(where).every(([key, value]) => attributes[key] === value);
}

/**
 * Runs `run` inside a SERVER span, as an HTTP or gRPC instrumentation would around a handler,
 * continuing the trace of `headers` (W3C `traceparent`) when they carry one.
 *
 * @param tracerProvider where the span goes
 * @param headers the incoming request's headers
 * @param run the handling
 */
export function withServerSpan<T>(
  tracerProvider: BasicTracerProvider,
  headers: Record<string, unknown>,
  run: (span: Span, parent: Context) => T,
): T {
  const parent = propagation.extract(context.active(), headers);
  const span = tracerProvider
    .getTracer('test-http-instrumentation')
    .startSpan('GET /server', { kind: 1 /* SERVER */ }, parent);
  return context.with(trace.setSpan(parent, span), () => run(span, parent));
}
