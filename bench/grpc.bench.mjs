// Guarded against unguarded gRPC unary calls, in session-id and signature mode, from one run.
// On the built package (run `npm run build` first):
//   node --expose-gc bench/grpc.bench.mjs [--duration 10] [--warmup 1] [--rounds 3]
//     [--concurrency 64] [--filler 10000] [--variants a,b] [--client h2|grpc-js]
//
// Six servers (bench/grpc/server.mjs, one child process each) serve bench.v1.Bench/Echo:
// unguarded; SessionGuard in session-id mode; the same carrying a signed call's
// x-mesh-signature entry that nothing reads (what transporting a signature costs); the same
// plus the SHA-256 of the message and one HMAC-SHA256 over a signature base (the floor of
// signature mode: what no verification can skip); SessionGuard in signature mode, signed in
// one x-mesh-signature entry; and the same signed in the three RFC 9421 entries. All on the
// memory store with `--filler` other sessions. On Linux with two cores or more, the servers run
// on core 1 and this load generator on core 0.
// Each round measures every variant (in an order that rotates between rounds) twice:
// - closed loop, `--concurrency` calls in flight on one HTTP/2 connection: calls per second,
//   the server's CPU time per call (process.cpuUsage() in the server, user + system, over the
//   measured window, divided by the calls it served), and the load generator's;
// - paced at one rate for all (60% of the slowest closed-loop rate of round 1): the server's
//   CPU time per call at the same offered load, so that each batches its calls alike.
// The id (session-id mode) is a fresh string per call; signed calls are signed before the
// clock starts, each with its own nonce, so the client's signing is not measured.
// BENCH_SERVER_NODE_ARGS (such as "--cpu-prof --cpu-prof-dir=prof") passes flags to the servers.
import { randomBytes } from 'node:crypto';
import { fileURLToPath, URL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { clearInterval, setInterval } from 'node:timers';
import { connect, constants as http2 } from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { signGrpcCall } from '../dist/index.js';
import { BENCH_PROTO } from './grpc/server.mjs';
import { PIN, pinProcess, spawnServer } from './lib/pinning.mjs';
import { freePort, parseArgs, report, summarize } from './lib/stats.mjs';

const args = parseArgs();
const DURATION = Number(args.duration ?? 10);
const WARMUP = Number(args.warmup ?? 1);
const ROUNDS = Number(args.rounds ?? 3);
const CONCURRENCY = Number(args.concurrency ?? 64);
const FILLER = Number(args.filler ?? 10_000);
// 'h2' (default): calls made over plain HTTP/2, the leanest load generator, so that the server
// limits the rate; 'grpc-js': the same calls through @grpc/grpc-js's client, for comparison.
const CLIENT = args.client === 'grpc-js' ? 'grpc-js' : 'h2';
// 'carried': session-id mode, with the metadata of a signed call carried but not verified: the
// cost of transporting a signature, a floor for signature mode on this wire format.
// 'hmac-floor': carried, plus one HMAC over a signature base, in the same guard (Nest runs one
// guard, as in signature mode): the most signature mode can reach.
// 'verify-floor': carried, plus every step of a signature check done the plainest way, in the
// same guard (bench/lib/verify-floor.mjs).
// 'allow-guard': Nest's plain options and a guard that lets everything through, its calls
// carrying a session id: what Nest's guard machinery costs, the most any guard can reach.
const ALL_VARIANTS = [
  'unguarded',
  'allow-guard',
  'guarded',
  'carried',
  'hmac-floor',
  'verify-floor',
  'signature',
  'signature-rfc9421',
];
const VARIANTS = args.variants ? String(args.variants).split(',') : ALL_VARIANTS;
const PATH = '/bench.v1.Bench/Echo';
// Each ratio: its name in the result, then the variant measured against the baseline.
const RATIOS = [
  ['guardedOverUnguarded', 'guarded', 'unguarded'],
  ['allowGuardOverUnguarded', 'allow-guard', 'unguarded'],
  ['guardedOverAllowGuard', 'guarded', 'allow-guard'],
  ['signatureOverSessionId', 'signature', 'guarded'],
  ['rfc9421OverSessionId', 'signature-rfc9421', 'guarded'],
  ['hmacFloorOverSessionId', 'hmac-floor', 'guarded'],
  ['signatureOverHmacFloor', 'signature', 'hmac-floor'],
  ['verifyFloorOverSessionId', 'verify-floor', 'guarded'],
  ['signatureOverVerifyFloor', 'signature', 'verify-floor'],
  ['carriedOverSessionId', 'carried', 'guarded'],
  ['signatureOverCarried', 'signature', 'carried'],
];

const method = protoLoader.loadSync(BENCH_PROTO)['bench.v1.Bench'].Echo;
const MESSAGE = method.requestSerialize({ name: 'World' });

// The servers run on core 1 and this load generator on core 0 (bench/lib/pinning.mjs).
pinProcess(process.pid, 'load');

async function startServer(variant, sessionKey) {
  const port = await freePort();
  const child = spawnServer(fileURLToPath(new URL('./grpc/server.mjs', import.meta.url)), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const ask = (message) =>
    new Promise((resolve, reject) => {
      const exited = (code) => reject(new Error(`${variant} server exited (${code})`));
      child.once('exit', exited);
      child.once('message', (answer) => {
        child.off('exit', exited);
        resolve(answer);
      });
      child.send(message);
    });
  const { sessionId } = await ask({
    variant,
    port,
    sessionKey: sessionKey.toString('hex'),
    fillerSessions: FILLER,
  });
  let client;
  if (CLIENT === 'grpc-js') {
    client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  } else {
    client = connect(`http://127.0.0.1:${port}`);
    await new Promise((resolve, reject) => client.once('connect', resolve).once('error', reject));
  }
  return { variant, child, client, sessionId, ask, sessionKey };
}

/** Metadata for each call of a run: a fresh id string, or a signature with its own nonce. */
function metadataSource(server, count) {
  if (server.variant === 'unguarded') return () => ({});
  if (server.variant === 'guarded' || server.variant === 'allow-guard') {
    // A fresh string per call, as one read from the wire would be.
    return () => ({ 'x-mesh-session-id': `${server.sessionId} `.trimEnd() });
  }
  const format = server.variant === 'signature-rfc9421' ? 'rfc9421' : 'entry';
  const pool = [];
  for (let i = 0; i < count; i++) {
    const input = {
      path: PATH,
      message: MESSAGE,
      sessionId: server.sessionId,
      sessionKey: server.sessionKey,
    };
    pool.push(signGrpcCall(input, { format }));
  }
  const withId = ['carried', 'hmac-floor', 'verify-floor'].includes(server.variant);
  let next = 0;
  return () => {
    const entries = pool[next++];
    if (entries === undefined) return undefined;
    return withId ? { ...entries, 'x-mesh-session-id': `${server.sessionId} `.trimEnd() } : entries;
  };
}

// The request message in gRPC's length-prefixed framing: not compressed, 4-byte length.
const FRAMED = Buffer.alloc(5 + MESSAGE.length);
FRAMED.writeUInt32BE(MESSAGE.length, 1);
MESSAGE.copy(FRAMED, 5);
const CALL_HEADERS = {
  [http2.HTTP2_HEADER_METHOD]: 'POST',
  [http2.HTTP2_HEADER_PATH]: PATH,
  [http2.HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc',
  te: 'trailers',
};

/**
 * One unary call over plain HTTP/2 (a gRPC client reduced to framing and the status), so that
 * the load generator costs the least it can and the server is what limits the rate: the answer
 * is read only for its `grpc-status` (in the trailers, or in the headers of a trailers-only
 * answer).
 */
function unaryCall(session, metadata, done) {
  if (CLIENT === 'grpc-js') {
    const entries = new grpc.Metadata();
    for (const [key, value] of Object.entries(metadata)) entries.set(key, value);
    session.makeUnaryRequest(
      PATH,
      (bytes) => bytes,
      (bytes) => bytes,
      MESSAGE,
      entries,
      (error) => done(error ? `${error.code} ${error.details}` : undefined),
    );
    return;
  }
  const stream = session.request({ ...CALL_HEADERS, ...metadata });
  let status;
  let error;
  stream.on('response', (headers) => {
    status = headers['grpc-status'];
  });
  stream.on('trailers', (trailers) => {
    status = trailers['grpc-status'];
  });
  stream.on('error', (cause) => {
    error = cause.message;
  });
  stream.on('close', () =>
    done(error ?? (status === '0' ? undefined : `grpc-status ${status}, stream ${stream.rstCode}`)),
  );
  stream.resume();
  stream.end(FRAMED);
}

/**
 * Sends calls for `seconds`: closed loop (CONCURRENCY calls in flight, each answer launching the
 * next) when `rate` is undefined, else paced at `rate` calls per second (at most CONCURRENCY in
 * flight). Any failed call aborts the bench.
 */
function drive(server, seconds, nextMetadata, rate) {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const end = start + seconds * 1000;
    let inFlight = 0;
    let launched = 0;
    let failed;
    let timer;
    const finish = () => {
      if (inFlight > 0) return;
      clearInterval(timer);
      if (failed === undefined) resolve();
      else reject(failed);
    };
    const launch = () => {
      const metadata = nextMetadata();
      if (metadata === undefined) return false;
      inFlight++;
      launched++;
      unaryCall(server.client, metadata, (error) => {
        inFlight--;
        if (error) failed ??= new Error(`${server.variant}: ${error}`);
        if (failed !== undefined || performance.now() >= end) finish();
        else if (rate === undefined && !launch()) finish();
      });
      return true;
    };
    if (rate === undefined) {
      for (let i = 0; i < CONCURRENCY; i++) launch();
      return;
    }
    timer = setInterval(() => {
      const now = performance.now();
      if (failed !== undefined || now >= end) return finish();
      const due = Math.floor(((now - start) / 1000) * rate) - launched;
      for (let i = 0; i < due && inFlight < CONCURRENCY; i++) if (!launch()) return finish();
    }, 1);
  });
}

async function measure(server, expectedRate, rate) {
  // Signed calls for each run, signed before it: 1.5 times what the fastest variant served in
  // as long (or the paced rate), plus a margin; a run that used them all up would stop early.
  const poolFor = (seconds) => Math.ceil((rate ?? expectedRate) * seconds * 1.5) + 5_000;
  if (WARMUP > 0) await drive(server, WARMUP, metadataSource(server, poolFor(WARMUP)), rate);
  const source = metadataSource(server, poolFor(DURATION));
  globalThis.gc?.();
  const before = await server.ask({ mark: true });
  const clientBefore = process.cpuUsage();
  await drive(server, DURATION, source, rate);
  const client = process.cpuUsage(clientBefore);
  const after = await server.ask({ mark: true });
  const calls = after.served - before.served;
  const cpuMicros = after.cpu.user - before.cpu.user + (after.cpu.system - before.cpu.system);
  return {
    callsPerSecond: calls / ((after.at - before.at) / 1000),
    cpuMicrosPerCall: cpuMicros / calls,
    clientCpuMicrosPerCall: (client.user + client.system) / calls,
    calls,
  };
}

const servers = [];
try {
  for (const variant of VARIANTS) servers.push(await startServer(variant, randomBytes(32)));
  const rounds = Object.fromEntries(VARIANTS.map((v) => [v, []]));
  const paced = Object.fromEntries(VARIANTS.map((v) => [v, []]));
  let fastest = 20_000;
  let rate;
  for (let round = 0; round < ROUNDS; round++) {
    const order = VARIANTS.map((_, i) => servers[(i + round) % servers.length]);
    for (const server of order) {
      const result = await measure(server, fastest);
      fastest = Math.max(fastest, result.callsPerSecond);
      rounds[server.variant].push(result);
      console.log(
        `round ${round + 1} ${server.variant.padEnd(10)} ${result.callsPerSecond.toFixed(0)} calls/s, ` +
          `${result.cpuMicrosPerCall.toFixed(1)} µs server CPU per call, ` +
          `${result.clientCpuMicrosPerCall.toFixed(1)} µs load-generator CPU (closed loop)`,
      );
    }
    // The same offered load for every variant: 60% of the slowest closed-loop rate of the first
    // round, so that no server is saturated and each batches its calls alike.
    rate ??= Math.floor(0.6 * Math.min(...VARIANTS.map((v) => rounds[v][0].callsPerSecond)));
    for (const server of order) {
      const result = await measure(server, fastest, rate);
      paced[server.variant].push(result);
      console.log(
        `round ${round + 1} ${server.variant.padEnd(10)} ${result.callsPerSecond.toFixed(0)} calls/s, ` +
          `${result.cpuMicrosPerCall.toFixed(1)} µs server CPU per call (paced at ${rate}/s)`,
      );
    }
  }
  const ratio = (a, b, key) =>
    summarize(rounds[a].map((result, i) => result[key] / rounds[b][i][key]));
  const cpuRatio = (a, b, runs = rounds) =>
    summarize(runs[a].map((result, i) => runs[b][i].cpuMicrosPerCall / result.cpuMicrosPerCall));
  const result = {
    pacedRate: rate,
    pinned: PIN,
    client: CLIENT,
    config: {
      duration: DURATION,
      warmup: WARMUP,
      rounds: ROUNDS,
      concurrency: CONCURRENCY,
      filler: FILLER,
    },
    variants: Object.fromEntries(
      VARIANTS.map((v) => [
        v,
        {
          callsPerSecond: summarize(rounds[v].map((r) => r.callsPerSecond)),
          cpuMicrosPerCall: summarize(rounds[v].map((r) => r.cpuMicrosPerCall)),
          pacedCpuMicrosPerCall: summarize(paced[v].map((r) => r.cpuMicrosPerCall)),
          clientCpuMicrosPerCall: summarize(rounds[v].map((r) => r.clientCpuMicrosPerCall)),
        },
      ]),
    ),
    ratios: Object.fromEntries(
      RATIOS.filter(([, a, b]) => VARIANTS.includes(a) && VARIANTS.includes(b)).map(
        ([name, a, b]) => [
          name,
          {
            throughput: ratio(a, b, 'callsPerSecond'),
            cpu: cpuRatio(a, b),
            pacedCpu: cpuRatio(a, b, paced),
          },
        ],
      ),
    ),
  };
  report(result);
} finally {
  for (const server of servers) {
    server.client.close();
    server.child.send({ stop: true });
  }
}
