// What OpenTelemetry costs the guarded route, from one run. On the built package (run
// `npm run build` first):
//   node bench/telemetry.bench.mjs [--duration 10] [--warmup 1] [--rounds 3] [--filler 10000]
//                                  [--variants none,metrics,tracing,tracing-app-only]
//
// Three Fastify servers (bench/http/server.mjs, one child process each) serve GET /bench behind
// SessionGuard in session-id mode, on the memory store with `--filler` other sessions; they
// differ only by the OpenTelemetry SDK registered before the app is created
// (bench/http/telemetry-sdk.mjs):
// - none:    no SDK, so the library records nothing (its no-op recorder);
// - metrics: a MeterProvider with a PeriodicExportingMetricReader (1 s interval) whose
//            exporter drops what it gets;
// - tracing: every trace sampled (AlwaysOnSampler), a BatchSpanProcessor whose exporter drops
//            the spans, the AsyncLocalStorage context manager, and a SERVER span around every
//            request as an HTTP instrumentation makes one (the guard's store span is its child);
// - tracing-app-only: the same SDK and SERVER spans with the library's telemetry turned off
//            (`telemetry: { enabled: false }`): what tracing costs an app without the library's
//            spans, so that tracing / tracing-app-only is the library's own share.
// Each round loads every server in turn (the order rotating between rounds) with autocannon,
// 50 connections (on Linux with two cores or more, the servers on core 1 and autocannon on
// core 0), and reads the server's requests served and its CPU time
// (process.cpuUsage() in the server, user + system) around the run: server CPU per request is
// the figure that isolates the server from the load generator on the same machine. Ratios are
// computed per round, then the median taken.
// Then the guard's check alone, in process (bench/telemetry/guard-path.mjs, one process per
// variant): nanoseconds per SessionGuard.authenticate(), the library's own cost without the
// noise of HTTP and of a load generator sharing the machine.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { fileURLToPath, URL } from 'node:url';
import autocannon from 'autocannon';
import { pinProcess, spawnServer } from './lib/pinning.mjs';
import { parseArgs, report, summarize } from './lib/stats.mjs';

const args = parseArgs();
const DURATION = Number(args.duration ?? 10);
const WARMUP = Number(args.warmup ?? 1);
const ROUNDS = Number(args.rounds ?? 3);
const FILLER = Number(args.filler ?? 10_000);
const CONNECTIONS = 50;
const ALL_VARIANTS = ['none', 'metrics', 'tracing', 'tracing-app-only'];
// --variants none,metrics runs a subset (the ratios need 'none', and 'tracing-app-only' for the
// library's share of tracing).
const VARIANTS = typeof args.variants === 'string' ? args.variants.split(',') : ALL_VARIANTS;
const SESSION_HEADER = 'x-mesh-session-id';

function startServer(variant) {
  const child = spawnServer(fileURLToPath(new URL('./http/server.mjs', import.meta.url)), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const ask = (message) =>
    new Promise((resolve, reject) => {
      const exited = (code) => reject(new Error(`telemetry ${variant} server exited (${code})`));
      child.once('exit', exited);
      child.once('message', (answer) => {
        child.off('exit', exited);
        resolve(answer);
      });
      child.send(message);
    });
  return ask({
    name: `fastify-guarded-telemetry-${variant}`,
    platform: 'fastify',
    variant: 'guarded',
    store: 'memory',
    sessionKey: randomBytes(32).toString('hex'),
    fillerSessions: FILLER,
    ...(variant === 'none'
      ? {}
      : { telemetry: variant.startsWith('tracing') ? 'tracing' : variant }),
    ...(variant === 'tracing-app-only' ? { meshTelemetry: false } : {}),
  }).then((answer) => ({
    variant,
    ...answer,
    stats: () => ask({ served: true }),
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', resolve);
        child.send({ stop: true });
      }),
  }));
}

const cpuMicros = (usage) => usage.user + usage.system;

/** One autocannon run: requests per second, and the server's CPU time and spans per request. */
async function load(server, duration) {
  const before = await server.stats();
  const result = await autocannon({
    url: `http://127.0.0.1:${server.port}/bench`,
    connections: CONNECTIONS,
    duration,
    headers: { [SESSION_HEADER]: server.sessionId },
  });
  const after = await server.stats();
  const ok = result['2xx'];
  if (result.non2xx > 0 || result.errors > 0 || result.timeouts > 0 || ok === 0) {
    throw new Error(
      `telemetry ${server.variant}: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts, ${ok} ok`,
    );
  }
  const served = after.served - before.served;
  return {
    rps: ok / (result.duration || duration),
    cpuMicrosPerRequest: (cpuMicros(after.cpu) - cpuMicros(before.cpu)) / served,
    // User time alone: what the library adds is JavaScript, while the system time (socket
    // writes to a load generator on the same cores) swings by more than it between runs.
    userMicrosPerRequest: (after.cpu.user - before.cpu.user) / served,
    spansPerRequest: (after.spans - before.spans) / served,
  };
}

/** The guard's check alone, in a process of its own: nanoseconds per check. */
async function guardPath(variant) {
  const script = fileURLToPath(new URL('./telemetry/guard-path.mjs', import.meta.url));
  const { stdout } = await promisify(execFile)(process.execPath, [script, variant], {
    timeout: 300_000,
  });
  const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
  return JSON.parse(line.slice('RESULT '.length)).nsPerCheck;
}

const servers = [];
// The servers run on core 1 and autocannon, in this process, on core 0; the checks in process
// that follow run on any core.
pinProcess(process.pid, 'load');
try {
  for (const variant of VARIANTS) servers.push(await startServer(variant));
  for (const server of servers) if (WARMUP > 0) await load(server, WARMUP);
  const runs = Object.fromEntries(VARIANTS.map((v) => [v, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < servers.length; i++) {
      const server = servers[(i + round) % servers.length];
      const run = await load(server, DURATION);
      console.error(
        `telemetry: round ${round + 1} ${server.variant}: ${run.rps.toFixed(0)} req/s, ${run.cpuMicrosPerRequest.toFixed(1)} µs CPU per request (${run.userMicrosPerRequest.toFixed(1)} µs user)`,
      );
      runs[server.variant].push(run);
    }
  }
  const per = (variant, field) => runs[variant].map((run) => run[field]);
  const has = (variant) => VARIANTS.includes(variant) && VARIANTS.includes('none');
  const ratio = (variant, base = 'none') => ({
    throughput: summarize(runs[variant].map((run, r) => run.rps / runs[base][r].rps)),
    // The baseline's CPU per request over this one's: above 1 means cheaper.
    cpu: summarize(
      runs[variant].map((run, r) => runs[base][r].cpuMicrosPerRequest / run.cpuMicrosPerRequest),
    ),
    userCpu: summarize(
      runs[variant].map((run, r) => runs[base][r].userMicrosPerRequest / run.userMicrosPerRequest),
    ),
  });
  pinProcess(process.pid, 'any');
  const guardNs = {};
  for (const variant of VARIANTS) guardNs[variant] = await guardPath(variant);
  report({
    guardPath: guardNs,
    config: {
      duration: DURATION,
      warmup: WARMUP,
      rounds: ROUNDS,
      filler: FILLER,
      connections: CONNECTIONS,
    },
    variants: Object.fromEntries(
      VARIANTS.map((variant) => [
        variant,
        {
          rps: summarize(per(variant, 'rps')),
          cpuMicrosPerRequest: summarize(per(variant, 'cpuMicrosPerRequest')),
          userMicrosPerRequest: summarize(per(variant, 'userMicrosPerRequest')),
          spansPerRequest: summarize(per(variant, 'spansPerRequest')),
        },
      ]),
    ),
    ratios: {
      metricsOverNone: has('metrics') ? ratio('metrics') : undefined,
      tracingOverNone: has('tracing') ? ratio('tracing') : undefined,
      tracingOverAppOnly:
        has('tracing') && has('tracing-app-only')
          ? ratio('tracing', 'tracing-app-only')
          : undefined,
    },
  });
} finally {
  for (const server of servers) await server.stop();
}
