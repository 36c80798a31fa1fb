// Guarded against unguarded gRPC unary calls, in session-id and signature mode, from one run.
// On the built package (run `npm run build` first):
//   node --expose-gc bench/grpc.bench.mjs [--duration 10] [--warmup 1] [--rounds 3]
//                                         [--concurrency 64] [--filler 10000]
//
// Five servers (bench/grpc/server.mjs, one child process each) serve bench.v1.Bench/Echo:
// unguarded, SessionGuard in session-id mode, the same carrying a signed call's metadata that
// nothing reads (what transporting a signature costs), the same plus one HMAC-SHA256 over a
// signature base (the floor of signature mode: what no verification can skip), and
// SessionGuard in signature mode, on the memory store with `--filler` other sessions. On Linux
// with two cores or more, the servers run on core 1 and this load generator on core 0.
// Each round measures every variant (in an order that rotates between rounds) twice:
// - closed loop, `--concurrency` calls in flight on one channel: calls per second, and the
//   server's CPU time per call (process.cpuUsage() in the server, user + system, over the
//   measured window, divided by the calls it served);
// - paced at one rate for all (60% of the slowest closed-loop rate of round 1): the server's
//   CPU time per call at the same offered load, so that each batches its calls alike.
// The id (session-id mode) is a fresh string per call; signed calls are signed before the
// clock starts, each with its own nonce, so the client's signing is not measured.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath, URL } from 'node:url';
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { clearInterval, setInterval } from 'node:timers';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { signGrpcCall } from '../dist/index.js';
import { BENCH_PROTO } from './grpc/server.mjs';
import { freePort, parseArgs, report, summarize } from './lib/stats.mjs';

const args = parseArgs();
const DURATION = Number(args.duration ?? 10);
const WARMUP = Number(args.warmup ?? 1);
const ROUNDS = Number(args.rounds ?? 3);
const CONCURRENCY = Number(args.concurrency ?? 64);
const FILLER = Number(args.filler ?? 10_000);
// 'carried': session-id mode, with the metadata of a signed call carried but not verified: the
// cost of transporting a signature, a floor for signature mode on this wire format.
// 'hmac-floor': carried, plus one HMAC over a signature base: the most signature mode can reach.
const VARIANTS = ['unguarded', 'guarded', 'carried', 'hmac-floor', 'signature'];
const PATH = '/bench.v1.Bench/Echo';

const method = protoLoader.loadSync(BENCH_PROTO)['bench.v1.Bench'].Echo;
const MESSAGE = method.requestSerialize({ name: 'World' });
const identity = (bytes) => bytes;

// On a machine with two cores or more, the servers run on core 1 and this load generator on
// core 0 (taskset), so that neither takes CPU time from the other.
const PIN = process.platform === 'linux' && availableParallelism() >= 2 && hasTaskset();

function hasTaskset() {
  try {
    execFileSync('taskset', ['-cp', '0', String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function spawnPinned(script, args, options) {
  const node = [process.execPath, ...process.execArgv, fileURLToPath(script), ...args];
  return PIN
    ? spawn('taskset', ['-c', '1', ...node], options)
    : spawn(node[0], node.slice(1), options);
}

async function startServer(variant, sessionKey) {
  const port = await freePort();
  const child = spawnPinned(new URL('./grpc/server.mjs', import.meta.url), [], {
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
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  return { variant, child, client, sessionId, ask, sessionKey };
}

/** Metadata for each call of a run: a fresh id string, or a signature with its own nonce. */
function metadataSource(server, count) {
  if (server.variant === 'unguarded') return () => new grpc.Metadata();
  if (server.variant === 'guarded') {
    return () => {
      const metadata = new grpc.Metadata();
      // A fresh string per call, as one read from the wire would be.
      metadata.set('x-mesh-session-id', `${server.sessionId} `.trimEnd());
      return metadata;
    };
  }
  const pool = [];
  for (let i = 0; i < count; i++) {
    pool.push(
      signGrpcCall({
        path: PATH,
        message: MESSAGE,
        sessionId: server.sessionId,
        sessionKey: server.sessionKey,
      }),
    );
  }
  let next = 0;
  return () => {
    const entries = pool[next++];
    if (entries === undefined) return undefined;
    const metadata = new grpc.Metadata();
    if (server.variant === 'carried' || server.variant === 'hmac-floor')
      metadata.set('x-mesh-session-id', `${server.sessionId} `.trimEnd());
    metadata.set('signature-input', entries['signature-input']);
    metadata.set('signature', entries.signature);
    metadata.set('content-digest', entries['content-digest']);
    return metadata;
  };
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
      server.client.makeUnaryRequest(
        PATH,
        identity,
        method.responseDeserialize,
        MESSAGE,
        metadata,
        (error) => {
          inFlight--;
          if (error) failed ??= new Error(`${server.variant}: ${error.code} ${error.details}`);
          if (failed !== undefined || performance.now() >= end) finish();
          else if (rate === undefined && !launch()) finish();
        },
      );
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
  // Pool size for signed calls: twice what the fastest mode served, plus margin.
  const count = Math.ceil((rate ?? expectedRate) * (DURATION + WARMUP) * 2) + 50_000;
  if (WARMUP > 0) await drive(server, WARMUP, metadataSource(server, count), rate);
  const source = metadataSource(server, count);
  globalThis.gc?.();
  const before = await server.ask({ mark: true });
  await drive(server, DURATION, source, rate);
  const after = await server.ask({ mark: true });
  const calls = after.served - before.served;
  const cpuMicros = after.cpu.user - before.cpu.user + (after.cpu.system - before.cpu.system);
  return {
    callsPerSecond: calls / ((after.at - before.at) / 1000),
    cpuMicrosPerCall: cpuMicros / calls,
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
          `${result.cpuMicrosPerCall.toFixed(1)} µs server CPU per call (closed loop)`,
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
        },
      ]),
    ),
    ratios: {
      guardedOverUnguarded: {
        throughput: ratio('guarded', 'unguarded', 'callsPerSecond'),
        cpu: cpuRatio('guarded', 'unguarded'),
        pacedCpu: cpuRatio('guarded', 'unguarded', paced),
      },
      signatureOverSessionId: {
        throughput: ratio('signature', 'guarded', 'callsPerSecond'),
        cpu: cpuRatio('signature', 'guarded'),
        pacedCpu: cpuRatio('signature', 'guarded', paced),
      },
      hmacFloorOverSessionId: {
        throughput: ratio('hmac-floor', 'guarded', 'callsPerSecond'),
        cpu: cpuRatio('hmac-floor', 'guarded'),
        pacedCpu: cpuRatio('hmac-floor', 'guarded', paced),
      },
      signatureOverHmacFloor: {
        throughput: ratio('signature', 'hmac-floor', 'callsPerSecond'),
        cpu: cpuRatio('signature', 'hmac-floor'),
        pacedCpu: cpuRatio('signature', 'hmac-floor', paced),
      },
      carriedOverSessionId: {
        throughput: ratio('carried', 'guarded', 'callsPerSecond'),
        cpu: cpuRatio('carried', 'guarded'),
        pacedCpu: cpuRatio('carried', 'guarded', paced),
      },
      signatureOverCarried: {
        throughput: ratio('signature', 'carried', 'callsPerSecond'),
        cpu: cpuRatio('signature', 'carried'),
        pacedCpu: cpuRatio('signature', 'carried', paced),
      },
    },
  };
  report(result);
} finally {
  for (const server of servers) {
    server.client.close();
    server.child.send({ stop: true });
  }
}
