// The OpenTelemetry SDK of the telemetry benchmark's servers (bench/telemetry.bench.mjs),
// registered globally before the Nest app is created, as an app's instrumentation file does:
// - 'metrics': a MeterProvider read every second by a PeriodicExportingMetricReader whose
//   exporter drops what it gets (collection and aggregation are measured, not a network);
// - 'tracing': a BasicTracerProvider sampling every trace (AlwaysOnSampler), a BatchSpanProcessor
//   whose exporter counts and drops the spans, the AsyncLocalStorage context manager, the W3C
//   propagator, and a SERVER span around every request, active while it is handled, as an HTTP
//   instrumentation makes one (the library's spans are its children).
import { context, metrics, propagation, ROOT_CONTEXT, SpanKind, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  AggregationTemporality,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import {
  AlwaysOnSampler,
  BasicTracerProvider,
  BatchSpanProcessor,
} from '@opentelemetry/sdk-trace-base';

const SUCCESS = { code: 0 };

/**
 * Registers the SDK of one variant.
 * @param {'metrics' | 'tracing'} kind
 * @returns {{ instrument(app: any): void, spans(): number, shutdown(): Promise<void> }}
 */
export function startTelemetry(kind) {
  if (kind === 'metrics') {
    const exporter = {
      export: (_metrics, done) => done(SUCCESS),
      forceFlush: async () => {},
      shutdown: async () => {},
      selectAggregationTemporality: () => AggregationTemporality.CUMULATIVE,
    };
    const provider = new MeterProvider({
      readers: [new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 1_000 })],
    });
    metrics.setGlobalMeterProvider(provider);
    return { instrument: () => undefined, spans: () => 0, shutdown: () => provider.shutdown() };
  }
  if (kind !== 'tracing') throw new Error(`unknown telemetry variant ${kind}`);
  let exported = 0;
  const exporter = {
    export: (spans, done) => {
      exported += spans.length;
      done(SUCCESS);
    },
    shutdown: async () => {},
  };
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  const provider = new BasicTracerProvider({
    sampler: new AlwaysOnSampler(),
    spanProcessors: [new BatchSpanProcessor(exporter)],
  });
  trace.setGlobalTracerProvider(provider);
  const tracer = trace.getTracer('bench-http-instrumentation');
  return {
    instrument(app) {
      const fastify = app.getHttpAdapter().getInstance();
      fastify.addHook('onRequest', (request, reply, done) => {
        const parent = propagation.extract(ROOT_CONTEXT, request.headers);
        const span = tracer.startSpan('GET /bench', { kind: SpanKind.SERVER }, parent);
        reply.raw.once('finish', () => span.end());
        context.with(trace.setSpan(parent, span), done);
      });
    },
    spans: () => exported,
    shutdown: () => provider.shutdown(),
  };
}
