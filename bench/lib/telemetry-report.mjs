// The telemetry part of bench/results.md: what OpenTelemetry metrics and traces cost the
// guarded route, from one run of bench/telemetry.bench.mjs.

const n = (value, digits = 0) =>
  value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const spread = (s) => `±${s.spreadPct.toFixed(0)}%`;

const LABELS = {
  none: 'no SDK (the library records nothing)',
  metrics: 'MeterProvider, periodic reader every 1 s',
  tracing: 'tracing, 100% sampled, a SERVER span per request',
  'tracing-app-only': "the same tracing, the library's telemetry off",
};

/**
 * Markdown lines for the telemetry section, and its targets.
 * @param {any} result the RESULT of bench/telemetry.bench.mjs
 * @param {(scenario: string, measured: string, goal: string, ok: boolean | undefined) => void} target
 */
export function telemetrySection(result, target) {
  const { variants, ratios, config } = result;
  const lines = [
    '## Telemetry',
    '',
    `\`node bench/telemetry.bench.mjs --duration ${config.duration} --warmup ${config.warmup} --rounds ${config.rounds} --filler ${config.filler}\`: Fastify, SessionGuard in session-id mode on the memory store (${n(config.filler)} other sessions), one server process per variant, differing only by the OpenTelemetry SDK registered before the app (\`bench/http/telemetry-sdk.mjs\`); autocannon, ${config.connections} connections. Server CPU is \`process.cpuUsage()\` in the server over the measured window, divided by the requests it served. Medians of ${config.rounds} rounds, the order of the variants rotating between rounds.`,
    '',
    '| variant | req/s | server CPU per request | spans exported per request |',
    '|---|---|---|---|',
  ];
  for (const [name, label] of Object.entries(LABELS)) {
    const v = variants[name];
    if (v === undefined) continue;
    lines.push(
      `| ${label} | ${n(v.rps.median)} ${spread(v.rps)} | ${n(v.cpuMicrosPerRequest.median, 1)} µs ${spread(v.cpuMicrosPerRequest)} | ${n(v.spansPerRequest.median, 2)} |`,
    );
  }
  lines.push(
    '',
    "Ratios are computed per round, then the median taken; by CPU, a ratio is the baseline's CPU per request over the variant's (above 1 means cheaper). The tracing variants include what an HTTP instrumentation costs (its SERVER span, the AsyncLocalStorage context manager): tracing over the same tracing with the library's telemetry off is the library's own share.",
    '',
    '| ratio | by throughput | by server CPU per request | target (throughput) |',
    '|---|---|---|---|',
  );
  const rows = [
    ['metrics / no SDK', ratios.metricsOverNone, 0.97],
    ['tracing / no SDK', ratios.tracingOverNone, 0.9],
    ["tracing / tracing without the library's telemetry", ratios.tracingOverAppOnly, undefined],
  ];
  for (const [label, ratio, goal] of rows) {
    if (ratio === undefined) continue;
    lines.push(
      `| ${label} | ${n(ratio.throughput.median, 3)} ${spread(ratio.throughput)} | ${n(ratio.cpu.median, 3)} ${spread(ratio.cpu)} | ${goal === undefined ? '–' : `≥ ${goal}`} |`,
    );
    if (goal !== undefined) {
      target(
        `Telemetry: guarded Fastify, ${label} (throughput)`,
        `${n(ratio.throughput.median, 3)} (server CPU: ${n(ratio.cpu.median, 3)})`,
        `≥ ${goal}`,
        ratio.throughput.median >= goal,
      );
    }
  }
  const guard = result.guardPath;
  if (guard?.none !== undefined) {
    const added = (variant, base = 'none') =>
      guard[variant] === undefined || guard[base] === undefined
        ? undefined
        : n(guard[variant] - guard[base]);
    lines.push(
      '',
      `The guard's check alone, in process (\`bench/telemetry/guard-path.mjs\`: \`SessionGuard.authenticate()\` on a session-id request, memory store, no HTTP, one process per variant, median of 5 rounds of 300,000 checks): ${n(guard.none)} ns with no SDK` +
        (guard.metrics === undefined ? '' : `; metrics add ${added('metrics')} ns`) +
        (guard.tracing === undefined || guard['tracing-app-only'] === undefined
          ? ''
          : `; with tracing, the library's store span adds ${added('tracing', 'tracing-app-only')} ns to a check that runs in a SERVER span (${n(guard['tracing-app-only'])} ns without the library's telemetry)`) +
        '.',
    );
  }
  lines.push('');
  return lines;
}
