// The guard's check alone, in process: SessionGuard.authenticate() on a session-id request, the
// memory store, nothing else (no HTTP, no Nest pipeline), with one recorder per process:
//   node bench/telemetry/guard-path.mjs none|metrics|tracing [--checks 300000] [--rounds 5]
// - none:    the no-op recorder (no SDK);
// - metrics: a MeterProvider with a PeriodicExportingMetricReader (1 s) that drops its export;
// - tracing: a BasicTracerProvider (AlwaysOnSampler, BatchSpanProcessor dropping the spans) and
//            the AsyncLocalStorage context manager, each check inside a SERVER span as an HTTP
//            instrumentation makes one (so the guard's store call gets its span);
//            'tracing-app-only' is the same with the library's telemetry off.
// Prints RESULT { nsPerCheck } (median of the rounds) for bench/telemetry.bench.mjs.
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Reflector } from '@nestjs/core';
import { context, SpanKind, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
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
import { MemorySessionStore, SessionGuard, SessionManager } from '../../dist/index.js';
import { createSessionTelemetry } from '../../dist/telemetry/create-session-telemetry.js';
import { median, parseArgs, report } from '../lib/stats.mjs';

const variant = process.argv[2];
const args = parseArgs(process.argv.slice(3));
const CHECKS = Number(args.checks ?? 300_000);
const ROUNDS = Number(args.rounds ?? 5);
const SUCCESS = { code: 0 };

const tracing = variant === 'tracing' || variant === 'tracing-app-only';
const meterProvider =
  variant === 'metrics'
    ? new MeterProvider({
        readers: [
          new PeriodicExportingMetricReader({
            exporter: {
              export: (_metrics, done) => done(SUCCESS),
              forceFlush: async () => {},
              shutdown: async () => {},
              selectAggregationTemporality: () => AggregationTemporality.CUMULATIVE,
            },
            exportIntervalMillis: 1_000,
          }),
        ],
      })
    : undefined;
let tracerProvider;
if (tracing) {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  tracerProvider = new BasicTracerProvider({
    sampler: new AlwaysOnSampler(),
    spanProcessors: [
      new BatchSpanProcessor({ export: (_s, done) => done(SUCCESS), shutdown: async () => {} }),
    ],
  });
}

const store = new MemorySessionStore();
const telemetry = await createSessionTelemetry(
  {
    enabled: variant === 'metrics' || variant === 'tracing',
    meterProvider,
    tracerProvider,
    peerServiceAttribute: 'pinned',
  },
  { store, storeTimeout: 2_000, pinnedServices: [] },
);
const manager = new SessionManager(store, {}, undefined, telemetry);
for (let i = 0; i < 10_000; i++) await manager.createSession(`filler-${i % 100}`, randomBytes(32));
const { id } = await manager.createSession('caller', randomBytes(32));
const guard = new SessionGuard(
  manager,
  new Reflector(),
  { sessionHeader: 'x-mesh-session-id', requestSigning: false, storeTimeout: 2_000 },
  null,
  null,
  undefined,
  telemetry,
);
const response = { header: () => response };
const tracer = tracerProvider?.getTracer('bench-http-instrumentation');

async function check() {
  const request = { headers: { 'x-mesh-session-id': id } };
  if (tracer === undefined) return guard.authenticate(request, response);
  const span = tracer.startSpan('GET /bench', { kind: SpanKind.SERVER });
  await context.with(trace.setSpan(context.active(), span), () =>
    guard.authenticate(request, response),
  );
  span.end();
}

async function round(checks) {
  const start = performance.now();
  for (let i = 0; i < checks; i++) await check();
  return ((performance.now() - start) * 1e6) / checks;
}

await round(CHECKS);
const rounds = [];
for (let i = 0; i < ROUNDS; i++) rounds.push(await round(CHECKS));
await meterProvider?.shutdown();
await tracerProvider?.shutdown();
report({ variant, nsPerCheck: median(rounds), rounds });
