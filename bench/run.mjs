// The benchmark suite: `npm run bench` (under 10 minutes on 2 cores) writes
// bench/results.md; `npm run bench -- --quick` is a smoke run of under a minute that writes
// bench/.tmp/results-quick.md instead, so that the committed results always come from a full run.
//
// - Store scenarios: every implementation and size in a fresh `node --expose-gc` process
//   (bench/store/worker.mjs, bench/store/cleanup-worker.mjs), each after a warm-up; every figure
//   is the median of the rounds, with the spread (largest distance from the median).
// - HTTP scenarios: Nest apps in child processes (bench/http/server.mjs), autocannon driven from
//   this process (50 connections, 4 s per run, 8 rounds), warm-up first, runs interleaved
//   A/B/A/B, and the median of the per-round ratios.
// - A private redis-server on a free port serves every Redis scenario, so INFO commandstats
//   counts only the benchmark's own commands.
//
// Options: --quick, --only store,cleanup,http,redis,extras (comma-separated), --out <file>,
// --profile-servers <dir> (a CPU profile of each HTTP server), --diagnose (adds servers with a
// guard that lets everything through, to tell Nest's cost of a guard from ours), --all-extras
// (also runs bench/redis-store.mjs).
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { URL, fileURLToPath } from 'node:url';
import { clearTimeout, setTimeout } from 'node:timers';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import { signRequest } from '../dist/index.js';
import { freePort, median, parseArgs, summarize } from './lib/stats.mjs';
import { PIN, pinProcess, spawnServer } from './lib/pinning.mjs';
import { grpcSection } from './lib/grpc-report.mjs';
import { telemetrySection } from './lib/telemetry-report.mjs';
import { QUICK_DISCLAIMER, targetLines, verdict } from './lib/quick-mode.mjs';
import { IMPLEMENTATIONS, LABELS } from './store/impls.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const args = parseArgs();
const QUICK = args.quick === true;
const ONLY = typeof args.only === 'string' ? new Set(args.only.split(',')) : undefined;
const wants = (part) => ONLY === undefined || ONLY.has(part);
// --diagnose adds servers whose guard lets everything through: Nest's own cost of a guard.
const DIAGNOSE = args.diagnose === true;
const OUT = args.out ?? join(here, QUICK ? '.tmp/results-quick.md' : 'results.md');

const PLAN = QUICK
  ? {
      sizes: [10_000],
      rounds: 3,
      lookups: 20_000,
      cleanupSizes: [10_000],
      redisCleanupSize: 10_000,
      // No warm-up runs in the smoke run: the first round warms up.
      http: { duration: 1, warmup: 0, rounds: 3, fillerSessions: 100, pacedRounds: 2 },
    }
  : {
      sizes: [100_000, 1_000_000],
      rounds: 5,
      lookups: 200_000,
      cleanupSizes: [100_000, 1_000_000],
      redisCleanupSize: 1_000_000,
      // Short runs, many rounds: on a shared machine the load drifts within seconds, so two
      // servers compared within a round should run close together, and the median of the
      // per-round ratios needs enough rounds to shrug off a round that met a burst.
      // The paced rounds run every server of a group at once (see pacedRounds).
      http: { duration: 4, warmup: 2, rounds: 8, fillerSessions: 10_000, pacedRounds: 8 },
    };

const startedAt = new Date();
const clock = performance.now();
const log = (...parts) =>
  console.log(`[${((performance.now() - clock) / 1000).toFixed(0).padStart(4)} s]`, ...parts);

// ---------------------------------------------------------------------------------------------
// Child processes.

/** Every child still running, so that an interrupted run leaves nothing behind. */
const children = new Set();
function track(child) {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    for (const child of children) child.kill('SIGKILL');
    process.exit(130);
  });
}

function runWorker(script, workerArgs, timeoutMs, { onServerCore = false } = {}) {
  return new Promise((resolve, reject) => {
    const options = { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] };
    const child = track(
      onServerCore
        ? spawnServer(join(here, script), workerArgs, { ...options, execArgv: ['--expose-gc'] })
        : spawn(process.execPath, ['--expose-gc', join(here, script), ...workerArgs], options),
    );
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (code !== 0 || line === undefined) {
        reject(new Error(`${script} ${workerArgs.join(' ')} failed (${signal ?? code})\n${out}`));
      } else {
        resolve(JSON.parse(line.slice('RESULT '.length)));
      }
    });
  });
}

/** A redis-server of our own, on a free port, with persistence off. */
async function startRedis() {
  const port = await freePort();
  const child = track(
    spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    }),
  );
  await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(
      () => reject(new Error(`redis-server did not start:\n${out}`)),
      10_000,
    );
    child.once('error', reject);
    child.stdout.on('data', (chunk) => {
      out += chunk;
      if (out.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  child.stdout.resume();
  const version = (await promisify(execFile)('redis-server', ['--version'])).stdout.trim();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    pid: child.pid,
    version,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', resolve);
        child.kill('SIGTERM');
      }),
  };
}

function startServer(config) {
  // On core 1, this process (the load generator) being on core 0: bench/lib/pinning.mjs.
  const child = spawnServer(join(here, 'http/server.mjs'), [], {
    cwd: root,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    // --profile-servers <dir>: a CPU profile of every server, written when it stops.
    execArgv:
      typeof args['profile-servers'] === 'string'
        ? [
            '--cpu-prof',
            `--cpu-prof-dir=${args['profile-servers']}`,
            `--cpu-prof-name=${config.name}.cpuprofile`,
          ]
        : [],
  });
  track(child);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    const onExit = (code) => reject(new Error(`bench server ${config.name} exited with ${code}`));
    child.once('exit', onExit);
    child.once('message', (answer) =>
      resolve({
        ...config,
        ...answer,
        served: () =>
          new Promise((done) => {
            child.once('message', (reply) => done(reply));
            child.send({ served: true });
          }),
        stop: () =>
          new Promise((done) => {
            child.off('exit', onExit);
            child.once('exit', done);
            child.send({ stop: true });
          }),
      }),
    );
    child.send(config);
  });
}

// ---------------------------------------------------------------------------------------------
// Store scenarios.

async function storeScenarios() {
  const results = [];
  for (const size of PLAN.sizes) {
    for (const impl of IMPLEMENTATIONS) {
      log(`store: ${impl} at ${size.toLocaleString('en')}`);
      results.push(
        await runWorker(
          'store/worker.mjs',
          [
            '--impl',
            impl,
            '--size',
            String(size),
            '--rounds',
            String(PLAN.rounds),
            '--lookups',
            String(PLAN.lookups),
          ],
          240_000,
        ),
      );
    }
  }
  return results;
}

/** How sessions expire in the cleanup benchmark (see bench/store/cleanup-worker.mjs). */
const CLEANUP_PATTERNS = ['oldest', 'scattered', 'mass'];
const CLEANUP_PATTERN_LABELS = {
  oldest: 'oldest tenth expired',
  scattered: 'idle tenth scattered among used sessions',
  mass: 'mass expiry after a pause (all expired)',
};

/** The cleanup table's names for what only the cleanup benchmark runs. */
const CLEANUP_LABELS = {
  floor: 'floor (Map.delete of the expired ids only)',
  'checked-floor': 'checked floor (each expired id looked up, its expiry read, then deleted)',
  'indexed-floor':
    'indexed floor (Maps and Sets: found by expiry bucket, removed from every index)',
  redis: 'RedisSessionStore via SessionManager',
};

/** One cleanup result from the rounds of several worker processes of the same scenario. */
function pooled(parts) {
  if (parts.length === 1) return parts[0];
  const pool = (name) => summarize(parts.flatMap((part) => part[name].rounds));
  return {
    ...parts[0],
    rounds: parts.reduce((sum, part) => sum + part.rounds, 0),
    processes: parts.length,
    cleanupMs: pool('cleanupMs'),
    longestBlockMs: pool('longestBlockMs'),
    longestTimerGapMs: pool('longestTimerGapMs'),
    longestGapCpuMs: pool('longestGapCpuMs'),
    busiestGapCpuMs: pool('busiestGapCpuMs'),
    idleGapMs: pool('idleGapMs'),
  };
}

/**
 * Worker processes per implementation at the largest size, run in turn (ours and each floor,
 * then all of them again): where a process's memory lands moves a whole process's rounds by up
 * to a third at a million sessions, so the rounds of two processes are pooled.
 */
const CLEANUP_PROCESSES = 2;

async function cleanupScenarios(redis) {
  const results = [];
  // The oldest tenth expiring at every size; idle sessions scattered among used ones, and a
  // mass expiry after a pause, at the largest.
  const largest = Math.max(...PLAN.cleanupSizes);
  for (const size of PLAN.cleanupSizes) {
    for (const pattern of size === largest ? CLEANUP_PATTERNS : ['oldest']) {
      const runs = { ours: [], floor: [], 'checked-floor': [], 'indexed-floor': [], reference: [] };
      const processes = size === largest ? CLEANUP_PROCESSES : 1;
      for (let p = 0; p < processes; p++) {
        // The reference design is far off its target either way: one process.
        const impls = ['ours', 'floor', 'checked-floor', 'indexed-floor'];
        for (const impl of p === 0 ? [...impls, 'reference'] : impls) {
          log(`cleanup: ${impl} at ${size.toLocaleString('en')}, ${pattern}`);
          runs[impl].push(
            await runWorker(
              'store/cleanup-worker.mjs',
              // Each round needs a tenth of the store created anew (all of it for mass): three
              // per process at the largest size, seven below it, where a cleanup takes a few
              // milliseconds and one scavenge more or less moves a round's time by half.
              [
                '--impl',
                impl,
                '--size',
                String(size),
                '--rounds',
                size === largest ? '3' : '7',
                '--pattern',
                pattern,
              ],
              300_000,
            ),
          );
        }
      }
      for (const impl of Object.keys(runs)) results.push(pooled(runs[impl]));
    }
  }
  if (redis !== undefined && wants('redis')) {
    const size = PLAN.redisCleanupSize;
    log(`cleanup: redis at ${size.toLocaleString('en')}`);
    // As in the HTTP runs: Redis on one core, the process that uses it on the other, so that
    // the work of the cleanup's scripts in Redis never waits for the probe's core or delays it.
    pinProcess(redis.pid, 'load');
    try {
      results.push(
        await runWorker(
          'store/cleanup-worker.mjs',
          ['--impl', 'redis', '--size', String(size), '--rounds', '3', '--redis-url', redis.url],
          300_000,
          { onServerCore: true },
        ),
      );
    } finally {
      pinProcess(redis.pid, 'any');
    }
  }
  return results;
}

// ---------------------------------------------------------------------------------------------
// HTTP scenarios.

const SESSION_HEADER = 'x-mesh-session-id';

// Signature-mode requests signed per chunk of the pool, with one random draw for their nonces.
const POOL_CHUNK = 4_096;
// At about 220 bytes a pre-signed request, a pool of 2M stays under 500 MB; a run that needs
// more signs the rest on the fly, and the report says how many.
const MAX_SIGNED_POOL = 2_000_000;

/**
 * The request headers a variant's load sends: `at(i)` gives the headers of the run's i-th
 * request, `undefined` once a signature-mode pool is spent. Other variants send one set of
 * headers for every request. Signature mode needs one signed set per request (each nonce is
 * accepted once): all `count` of them are signed here, before the run starts, and kept per
 * chunk of 4,096 in two strings with offsets rather than as `count` objects: about 220 bytes
 * a request, and next to nothing for this process's garbage collector to walk during the run.
 */
function headerPool(server, count) {
  if (carriesSignature(server)) {
    // Session-id mode, carrying a signed request's headers (for the floors' HMAC).
    const signed = headerPool({ ...server, variant: 'signature' }, count);
    return {
      size: signed.size,
      at: (i) => {
        const headers = signed.at(i);
        return headers && { ...headers, [SESSION_HEADER]: server.sessionId };
      },
    };
  }
  if (server.variant !== 'signature') {
    const headers =
      server.variant === 'express-session'
        ? { cookie: server.cookie }
        : { [SESSION_HEADER]: server.sessionId };
    return { size: Infinity, at: () => headers };
  }
  const url = new URL(`http://127.0.0.1:${server.port}/bench`);
  // Signed just before the run: `created` stays within the server's 60 s clock skew.
  const created = Math.floor(Date.now() / 1000);
  const chunks = [];
  for (let first = 0; first < count; first += POOL_CHUNK) {
    const size = Math.min(POOL_CHUNK, count - first);
    // 32 random bytes per nonce, as signRequest draws by default, in one draw per chunk.
    const random = randomBytes(32 * size);
    const inputs = [];
    const signatures = [];
    // Offsets: [start of entry 0, end of entry 0 = start of entry 1, ...].
    const inputOffsets = new Uint32Array(size + 1);
    const signatureOffsets = new Uint32Array(size + 1);
    for (let j = 0; j < size; j++) {
      const headers = signRequest({
        method: 'GET',
        url,
        sessionId: server.sessionId,
        sessionKey: server.key,
        created,
        nonce: random.toString('base64url', 32 * j, 32 * j + 32),
      });
      inputs.push(headers['signature-input']);
      signatures.push(headers.signature);
      inputOffsets[j + 1] = inputOffsets[j] + headers['signature-input'].length;
      signatureOffsets[j + 1] = signatureOffsets[j] + headers.signature.length;
    }
    chunks.push({
      inputs: inputs.join(''),
      signatures: signatures.join(''),
      inputOffsets,
      signatureOffsets,
    });
  }
  return {
    size: count,
    at: (i) => {
      if (i >= count) return undefined;
      const chunk = chunks[Math.floor(i / POOL_CHUNK)];
      const j = i % POOL_CHUNK;
      return {
        'signature-input': chunk.inputs.slice(chunk.inputOffsets[j], chunk.inputOffsets[j + 1]),
        signature: chunk.signatures.slice(chunk.signatureOffsets[j], chunk.signatureOffsets[j + 1]),
      };
    },
  };
}

/** Calls per command from INFO commandstats, without INFO itself. */
function commandCalls(info) {
  const calls = {};
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    if (match[1] !== 'info') calls[match[1]] = Number(match[2]);
  }
  return calls;
}

function callsDelta(before, after) {
  const delta = {};
  for (const [command, calls] of Object.entries(after)) {
    const d = calls - (before[command] ?? 0);
    if (d > 0) delta[command] = d;
  }
  return delta;
}

/**
 * Whether a variant's requests carry a signed request's headers beside a session id, in
 * session-id mode (the floors of signature mode).
 */
function carriesSignature(server) {
  return ['carried', 'hmac-floor', 'hmac-twice', 'verify-floor'].includes(server.variant);
}

/** Whether a variant's requests are signed (each with its own nonce, before the run). */
const signs = (server) => server.variant === 'signature' || carriesSignature(server);

/**
 * How many requests to sign before a run of `seconds` at up to `rate` requests per second: the
 * run's requests with a 1.5x margin, up to MAX_SIGNED_POOL; 1 for a server that signs nothing.
 */
const poolSize = (server, rate, seconds) =>
  signs(server) ? Math.min(MAX_SIGNED_POOL, Math.ceil(rate * seconds * 1.5) + 1_000) : 1;

/**
 * Of the server core, the share the paced rounds fill, all servers of a group together: well
 * below saturation, so that no server queues requests and each batches them alike.
 */
const PACED_SHARE = 0.5;
/** Connections per server in the paced rounds (enough for its rate at a few ms per request). */
const PACED_CONNECTIONS = 10;

/**
 * One autocannon run against one server; every variant goes through `setupRequest`. With a
 * `rate`, autocannon sends that many requests per second (paced) instead of as many as it can.
 */
async function load(server, duration, admin, expectedRequests, rate) {
  const pool = headerPool(server, Math.max(1, Math.ceil(expectedRequests)));
  let next = 0;
  let signedOnTheFly = 0;
  const url = new URL(`http://127.0.0.1:${server.port}/bench`);
  const setupRequest = (request) => {
    let headers = pool.at(next++);
    if (headers === undefined) {
      // The pool was too small: sign now, and say so in the report (it steals the server's CPU).
      signedOnTheFly++;
      headers = signRequest({
        method: 'GET',
        url,
        sessionId: server.sessionId,
        sessionKey: server.key,
      });
      if (carriesSignature(server)) headers[SESSION_HEADER] = server.sessionId;
    }
    request.headers = { ...request.headers, ...headers };
    return request;
  };
  const before0 = await server.served();
  const before = admin === undefined ? {} : commandCalls(await admin.info('commandstats'));
  const result = await autocannon({
    url: url.href,
    connections: rate === undefined ? 50 : PACED_CONNECTIONS,
    duration,
    ...(rate === undefined ? {} : { overallRate: rate }),
    requests: [{ method: 'GET', setupRequest }],
  });
  // Requests still in flight when autocannon stopped finish on the server: let them, so that the
  // commands are divided by the requests the server really answered.
  if (admin !== undefined) await delay(300);
  const after = admin === undefined ? {} : commandCalls(await admin.info('commandstats'));
  const after0 = await server.served();
  const served = after0.served - before0.served;
  const cpuMicros = after0.cpu.user - before0.cpu.user + (after0.cpu.system - before0.cpu.system);
  const ok = result['2xx'];
  if (result.non2xx > 0 || result.errors > 0 || result.timeouts > 0 || ok === 0) {
    throw new Error(
      `${server.name}: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts, ${ok} ok`,
    );
  }
  return {
    rps: ok / (result.duration || duration),
    requests: ok,
    latencyP50: result.latency.p50,
    latencyP99: result.latency.p99,
    served,
    // The server's own CPU time per request: the load generator shares the machine, and its
    // cost differs between modes.
    cpuPerRequest: cpuMicros / served,
    redisCommands: admin === undefined ? undefined : callsDelta(before, after),
    presigned: signs(server) ? pool.size : 0,
    signedOnTheFly,
  };
}

/**
 * Starts one server process per config of a group, all together; nothing is measured until
 * every one is up.
 */
function startGroup(name, configs, redis) {
  const { fillerSessions } = PLAN.http;
  log(`http: ${name}: starting ${configs.length} servers`);
  return Promise.all(
    configs.map(async (config) => {
      const key = randomBytes(32);
      const server = await startServer({
        ...config,
        redisUrl: redis?.url,
        sessionKey: key.toString('hex'),
        fillerSessions,
      });
      return { ...server, key };
    }),
  );
}

/**
 * Runs rounds of one load per server of a group in turn (A/B/C/A/B/C...), each round on fresh
 * server processes, warmed up first, in an order that rotates between rounds; then the paced
 * rounds, on one more set. A server process can keep a bias of its own for its whole life: in one
 * full run with one process per server for all rounds, Express's allow-guard server took 5% less
 * CPU per request than the unguarded one in every round (2% in the median with a new process per
 * round). A new process per round turns such a bias into spread between rounds, which the median
 * of the rounds shrugs off.
 */
async function httpGroup(name, configs, redis, admin) {
  const { duration, warmup, rounds } = PLAN.http;
  const runs = Object.fromEntries(configs.map((c) => [c.name, []]));
  // Signature-mode requests are all signed before their run, so a run must not need more
  // than its pool holds. A signature-mode server's own rate is no bound (its warm-up may be
  // the one that ran short), nor is one cold 1 s warm-up (a guarded server warmed up at a
  // third of its later rate in one full run): the pool is sized from the fastest rate any
  // session-id server of the group has reached so far, warm-up or measured run (none does
  // more per request than signature mode), with a 1.5x margin, up to MAX_SIGNED_POOL.
  // The floor (fastify-guarded's rate in the last committed full run) covers a first round
  // sized from cold warm-ups on a busy machine: one such pool was only 14% over what its run
  // used. Unused entries cost signing time before the run, and about 220 bytes each.
  let fastest = warmup === 0 ? 40_000 : 25_000;
  const note = (server, rps) => {
    if (!signs(server)) fastest = Math.max(fastest, rps);
  };
  const poolFor = (server, seconds) => poolSize(server, fastest, seconds);
  for (let round = 0; round < rounds; round++) {
    const servers = await startGroup(name, configs, redis);
    try {
      for (const server of warmup > 0 ? servers : []) {
        log(`http: ${name}: round ${round + 1} warm-up ${server.name}`);
        note(server, (await load(server, warmup, undefined, poolFor(server, warmup))).rps);
      }
      const order = servers.map((_, i) => servers[(i + round) % servers.length]);
      for (const server of order) {
        const useAdmin = server.store === 'redis' || server.variant === 'express-session';
        const pool = poolFor(server, duration);
        if (signs(server)) {
          log(`http: ${name}: signing ${fmt(pool)} requests for ${server.name}`);
        }
        const run = await load(server, duration, useAdmin ? admin : undefined, pool);
        note(server, run.rps);
        log(
          `http: ${name}: round ${round + 1} ${server.name}: ${run.rps.toFixed(0)} req/s, ` +
            `${run.cpuPerRequest.toFixed(1)} µs server CPU per request`,
        );
        runs[server.name].push(run);
      }
    } finally {
      for (const server of servers) await server.stop();
    }
  }
  const servers = await startGroup(name, configs, redis);
  try {
    const paced = await pacedRounds(name, servers, runs);
    return { name, servers: configs, runs, ...paced };
  } finally {
    for (const server of servers) await server.stop();
  }
}

/**
 * The paced rounds of a group: every server at once, each sent the same rate, on the one server
 * core. Closed-loop runs take turns, so a burst of load from elsewhere on the machine falls on
 * one server's run and not on the next; here every server meets the same conditions at the same
 * moment (one server can still drift from the others for a few rounds, so the report gives these
 * ratios beside the closed-loop ones, not instead of them). The rate fills `PACED_SHARE` of the
 * core, from the servers' closed-loop CPU time per request; a paced server is never saturated,
 * so its CPU time per request is higher than in closed loop, where each wake-up serves a batch
 * of requests.
 */
async function pacedRounds(name, servers, runs) {
  const { duration, pacedRounds: rounds } = PLAN.http;
  let costMicros = 0;
  for (const server of servers) costMicros += median(runs[server.name].map((r) => r.cpuPerRequest));
  const rate = Math.max(50, Math.floor((PACED_SHARE * 1e6) / costMicros / 10) * 10);
  const paced = Object.fromEntries(servers.map((s) => [s.name, []]));
  // Round 0 is a warm-up, not kept: the servers are fresh processes, and a server's first paced
  // run took three times its CPU per request in one full run.
  for (let round = QUICK ? 1 : 0; round <= rounds; round++) {
    const results = await Promise.all(
      servers.map((server) =>
        load(server, duration, undefined, poolSize(server, rate, duration), rate),
      ),
    );
    if (round > 0) results.forEach((run, i) => paced[servers[i].name].push(run));
    log(
      `http: ${name}: paced ${round === 0 ? 'warm-up' : `round ${round}`} at ${rate} req/s each: ` +
        results.map((run, i) => `${servers[i].name} ${run.cpuPerRequest.toFixed(1)} µs`).join(', '),
    );
  }
  return { paced, pacedRate: rate };
}

async function httpScenarios(redis) {
  const admin = redis === undefined ? undefined : new Redis(redis.url);
  // The servers run on core 1; autocannon, in this process, and Redis on core 0.
  pinProcess(process.pid, 'load');
  if (redis !== undefined) pinProcess(redis.pid, 'load');
  try {
    const fastify = await httpGroup(
      'Fastify',
      [
        { name: 'fastify-unguarded', platform: 'fastify', variant: 'unguarded', store: 'memory' },
        ...(DIAGNOSE
          ? [
              {
                name: 'fastify-allow-guard',
                platform: 'fastify',
                variant: 'allow-guard',
                store: 'memory',
              },
            ]
          : []),
        // Every step of a session-id check, done the plainest way.
        {
          name: 'fastify-lookup-floor',
          platform: 'fastify',
          variant: 'lookup-floor',
          store: 'memory',
        },
        { name: 'fastify-guarded', platform: 'fastify', variant: 'guarded', store: 'memory' },
        { name: 'fastify-hmac-floor', platform: 'fastify', variant: 'hmac-floor', store: 'memory' },
        // Diagnostics of the hmac-floor: the signature's headers carried and unread, and the
        // floor's HMAC computed twice.
        ...(DIAGNOSE
          ? [
              { name: 'fastify-carried', platform: 'fastify', variant: 'carried', store: 'memory' },
              {
                name: 'fastify-hmac-twice',
                platform: 'fastify',
                variant: 'hmac-twice',
                store: 'memory',
              },
            ]
          : []),
        {
          name: 'fastify-verify-floor',
          platform: 'fastify',
          variant: 'verify-floor',
          store: 'memory',
        },
        { name: 'fastify-signature', platform: 'fastify', variant: 'signature', store: 'memory' },
        ...(redis === undefined
          ? []
          : [
              {
                name: 'fastify-guarded-redis',
                platform: 'fastify',
                variant: 'guarded',
                store: 'redis',
              },
              // The memory store plus one ioredis round trip: what any Redis check costs.
              {
                name: 'fastify-redis-floor',
                platform: 'fastify',
                variant: 'redis-floor',
                store: 'memory',
              },
            ]),
      ],
      redis,
      admin,
    );
    const express = await httpGroup(
      'Express',
      [
        { name: 'express-unguarded', platform: 'express', variant: 'unguarded', store: 'memory' },
        ...(DIAGNOSE
          ? [
              {
                name: 'express-allow-guard',
                platform: 'express',
                variant: 'allow-guard',
                store: 'memory',
              },
            ]
          : []),
        // Every step of a session-id check, done the plainest way.
        {
          name: 'express-lookup-floor',
          platform: 'express',
          variant: 'lookup-floor',
          store: 'memory',
        },
        { name: 'express-guarded', platform: 'express', variant: 'guarded', store: 'memory' },
        { name: 'express-hmac-floor', platform: 'express', variant: 'hmac-floor', store: 'memory' },
        // Diagnostics of the hmac-floor: the signature's headers carried and unread, and the
        // floor's HMAC computed twice.
        ...(DIAGNOSE
          ? [
              { name: 'express-carried', platform: 'express', variant: 'carried', store: 'memory' },
              {
                name: 'express-hmac-twice',
                platform: 'express',
                variant: 'hmac-twice',
                store: 'memory',
              },
            ]
          : []),
        {
          name: 'express-verify-floor',
          platform: 'express',
          variant: 'verify-floor',
          store: 'memory',
        },
        { name: 'express-signature', platform: 'express', variant: 'signature', store: 'memory' },
        ...(redis === undefined
          ? []
          : [
              {
                name: 'express-guarded-redis',
                platform: 'express',
                variant: 'guarded',
                store: 'redis',
              },
              {
                name: 'express-session-connect-redis',
                platform: 'express',
                variant: 'express-session',
                store: 'redis',
              },
              {
                name: 'express-redis-floor',
                platform: 'express',
                variant: 'redis-floor',
                store: 'memory',
              },
            ]),
      ],
      redis,
      admin,
    );
    return [fastify, express];
  } finally {
    admin?.disconnect();
    pinProcess(process.pid, 'any');
    if (redis !== undefined) pinProcess(redis.pid, 'any');
  }
}

// ---------------------------------------------------------------------------------------------
// The handshake, signing and Redis store benchmarks, run with short settings when present.

const EXTRAS = [
  {
    file: 'handshake.bench.mjs',
    args: QUICK
      ? ['--handshakes', '200', '--rounds', '3']
      : ['--handshakes', '500', '--rounds', '3'],
  },
  {
    file: 'signing.bench.mjs',
    args: QUICK ? ['--requests', '500', '--rounds', '3'] : ['--requests', '1000', '--rounds', '3'],
  },
  // The standalone Redis store benchmark, with --all-extras only: the suite's own Redis
  // scenarios above measure the same things (commands per request, Redis against memory, 1M
  // cleanup), and the 10-minute budget has no room for both.
  ...(args['all-extras'] === true
    ? [{ file: 'redis-store.mjs', args: ['--skip-cleanup', '--duration', '1'] }]
    : []),
];

async function extras() {
  const outputs = [];
  for (const extra of EXTRAS) {
    if (!existsSync(join(here, extra.file))) continue;
    log(`extras: ${extra.file}`);
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--expose-gc', join(here, extra.file), ...extra.args],
      { cwd: root, timeout: 180_000, maxBuffer: 10 * 1024 * 1024 },
    );
    outputs.push({ file: extra.file, args: extra.args, stdout });
  }
  return outputs;
}

// ---------------------------------------------------------------------------------------------
// Report.

const fmt = (n, digits = 0) =>
  n === undefined || Number.isNaN(n)
    ? 'n/a'
    : n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const spread = (s) => `±${s.spreadPct.toFixed(0)}%`;
// How the target lines name an implementation, where its id alone would not say what it is.
const SHORT_NAMES = {
  reference: 'the reference design',
  floor: 'the synchronous Map floor',
  'floor-await': 'the Map floor behind one await',
};
// A quick run judges no target: its sizes are not the ones the targets were set for.
const mark = (ok) => verdict(ok, QUICK);

function versionOf(pkg) {
  try {
    return JSON.parse(readFileSync(join(root, 'node_modules', pkg, 'package.json'), 'utf8'))
      .version;
  } catch {
    return 'not installed';
  }
}

function gitCommit() {
  try {
    const head = readFileSync(join(root, '.git/HEAD'), 'utf8').trim();
    const ref = head.startsWith('ref: ') ? head.slice(5) : undefined;
    return (ref === undefined ? head : readFileSync(join(root, '.git', ref), 'utf8').trim()).slice(
      0,
      10,
    );
  } catch {
    return 'unknown';
  }
}

/** Guarded against unguarded gRPC unary calls, in a worker of its own (bench/grpc.bench.mjs). */
function grpcScenarios() {
  log('grpc: unguarded, session-id and signature mode');
  const settings = QUICK
    ? ['--duration', '1', '--warmup', '0', '--rounds', '3', '--filler', '100']
    : ['--duration', '4', '--warmup', '1', '--rounds', '8', '--filler', '10000'];
  return runWorker('grpc.bench.mjs', settings, QUICK ? 120_000 : 1_200_000);
}

/** What OpenTelemetry metrics and traces cost the guarded route (bench/telemetry.bench.mjs). */
function telemetryScenarios() {
  log('telemetry: no SDK, metrics, tracing');
  const settings = QUICK
    ? ['--duration', '1', '--warmup', '0', '--rounds', '3', '--filler', '100']
    : ['--duration', '10', '--warmup', '1', '--rounds', '3', '--filler', '10000'];
  return runWorker('telemetry.bench.mjs', settings, QUICK ? 120_000 : 900_000);
}

function report({
  store,
  cleanup,
  http,
  grpc,
  telemetry,
  redisMemory,
  extraOutputs,
  redis,
  loadStart,
  loadEnd,
}) {
  const targets = [];
  const target = (scenario, measured, goal, ok) => targets.push({ scenario, measured, goal, ok });
  const lines = [];
  const push = (...l) => lines.push(...l);
  const own = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const cpu = cpus();

  push(
    `# Benchmark results${QUICK ? ' (quick smoke run: not the committed figures)' : ''}`,
    '',
    `Generated by \`npm run bench${QUICK ? ' -- --quick' : ''}\` on ${startedAt.toISOString()} in ${fmt((performance.now() - clock) / 1000)} s.`,
    '',
    ...(QUICK ? [`> ${QUICK_DISCLAIMER}`, ''] : []),
    '## Machine and versions',
    '',
    '| | |',
    '|---|---|',
    `| CPU | ${cpu.length} × ${cpu[0]?.model ?? 'unknown'} |`,
    `| Memory | ${fmt(totalmem() / 2 ** 30, 1)} GiB |`,
    `| Load average (1 min) at start / end | ${loadStart.toFixed(2)} / ${loadEnd.toFixed(2)} |`,
    `| Node | ${process.version} (${process.platform} ${process.arch}) |`,
    `| ${own.name} | ${own.version} (commit ${gitCommit()}) |`,
    ...[
      'lru-cache',
      '@isaacs/ttlcache',
      'express-session',
      'connect-redis',
      'redis',
      'ioredis',
      'autocannon',
      '@nestjs/core',
      '@nestjs/platform-express',
      '@nestjs/platform-fastify',
      'express',
      'fastify',
    ].map((pkg) => `| ${pkg} | ${versionOf(pkg)} |`),
    `| redis-server | ${redis?.version ?? 'not used'} |`,
    '',
    'Every figure is the median of the rounds; the spread is the largest distance of a round from',
    'the median. Ratios come from one run, so they hold where absolute numbers drift on a shared',
    'machine.',
    '',
  );

  if (store.length > 0) {
    const by = (impl, size) => store.find((r) => r.impl === impl && r.size === size);
    push(
      '## Store',
      '',
      'Each implementation and size ran in a fresh `node --expose-gc` process (`bench/store/worker.mjs`), with 32-byte keys (each a Buffer with an ArrayBuffer of its own, as a derived key is), N/10 services, lookups on random ids read from fresh strings (as from request headers), after a warm-up round.',
      '',
    );
    for (const size of PLAN.sizes) {
      const ours = by('ours', size);
      if (ours === undefined) continue;
      push(
        `### getSession with touch, N = ${fmt(size)}`,
        '',
        '| implementation | ns per call | spread | ours vs it (its time / ours) | target |',
        '|---|---:|---:|---:|---|',
      );
      const getTargets = {
        floor: 0.6,
        'floor-await': 0.6,
        reference: 1.3,
        'lru-cache': 1.3,
        ttlcache: 15,
        memorystore: 15,
      };
      for (const impl of IMPLEMENTATIONS) {
        const r = by(impl, size);
        if (r === undefined) continue;
        const ratio = r.getNs.median / ours.getNs.median;
        const goal = getTargets[impl];
        push(
          `| ${LABELS[impl]} | ${fmt(r.getNs.median)} | ${spread(r.getNs)} | ${impl === 'ours' ? '' : `${fmt(ratio, 2)}×`} | ${goal === undefined ? '' : `≥ ${goal}× ${mark(ratio >= goal)}`} |`,
        );
        if (goal !== undefined) {
          target(
            `getSession vs ${SHORT_NAMES[impl] ?? impl}, N = ${fmt(size)}`,
            `${fmt(ratio, 2)}×`,
            `≥ ${goal}×`,
            ratio >= goal,
          );
        }
      }
      push('');
      const floor = by('floor', size);
      if (floor !== undefined) {
        // The most any store can reach against each peer in this loop: the synchronous floor's
        // own ratio. A target above it is out of reach whatever the store does.
        const reach = Object.entries(getTargets)
          .filter(([impl]) => !impl.startsWith('floor'))
          .map(([impl, goal]) => [impl, goal, by(impl, size)])
          .filter(([, , r]) => r !== undefined)
          .map(([impl, goal, r]) => {
            const ratio = r.getNs.median / floor.getNs.median;
            return `${SHORT_NAMES[impl] ?? impl} ${fmt(ratio, 2)}× (target ${goal}×: ${ratio >= goal ? 'within reach' : '**beyond the floor**'})`;
          });
        push(
          `The floor itself against the same peers (their time / the floor's), the most any store reaches in this loop, where each lookup also pays for its fresh id string: ${reach.join(', ')}.`,
          '',
        );
      }
      if (ours.getNowNs !== undefined) {
        // The guard's own check on this store needs no Promise: the same read, measured in the
        // same process, against the same implementations (no target: the targets are for
        // getSession).
        const against = ['floor', 'floor-await', 'reference', 'lru-cache']
          .map((impl) => [impl, by(impl, size)])
          .filter(([, r]) => r !== undefined)
          .map(
            ([impl, r]) =>
              `${SHORT_NAMES[impl] ?? impl} ${fmt(r.getNs.median / ours.getNowNs.median, 2)}×`,
          );
        push(
          `Without a Promise (\`SessionManager.validateSessionNow\`, what \`SessionGuard\` runs on this store): ${fmt(ours.getNowNs.median)} ns per call (${spread(ours.getNowNs)}); its time against the others' (theirs / ours): ${against.join(', ')}.`,
          '',
        );
      }

      const reference = by('reference', size);
      if (ours.byServiceUs !== undefined && reference?.byServiceUs !== undefined) {
        const ratio = reference.byServiceUs.median / ours.byServiceUs.median;
        push(
          `### getSessionByServiceId, N = ${fmt(size)} (${fmt(size / 10)} services)`,
          '',
          '| implementation | µs per call | spread |',
          '|---|---:|---:|',
          `| ${LABELS.ours} | ${fmt(ours.byServiceUs.median, 2)} | ${spread(ours.byServiceUs)} |`,
          `| ${LABELS.reference} (linear scan) | ${fmt(reference.byServiceUs.median, 0)} | ${spread(reference.byServiceUs)} |`,
          '',
          `Ours is ${fmt(ratio)}× the reference design (target ≥ 1,000×: ${mark(ratio >= 1000)}).`,
          '',
        );
        target(
          `getSessionByServiceId vs the reference design, N = ${fmt(size)}`,
          `${fmt(ratio)}×`,
          '≥ 1,000×',
          ratio >= 1000,
        );
      }

      push(
        `### createSession on a store holding N = ${fmt(size)}`,
        '',
        '| implementation | ns per call | spread | ours vs it (its time / ours) |',
        '|---|---:|---:|---:|',
      );
      for (const impl of IMPLEMENTATIONS) {
        const r = by(impl, size);
        if (r?.createNs === undefined) continue;
        const ratio = r.createNs.median / ours.createNs.median;
        push(
          `| ${LABELS[impl]} | ${fmt(r.createNs.median)} | ${spread(r.createNs)} | ${impl === 'ours' ? '' : `${fmt(ratio, 2)}×`} |`,
        );
      }
      if (reference?.createNs !== undefined && ours.createNs !== undefined) {
        const ratio = reference.createNs.median / ours.createNs.median;
        push(
          '',
          `Ours is ${fmt(ratio, 2)}× the reference design (target ≥ 0.75×: ${mark(ratio >= 0.75)}).`,
        );
        target(
          `createSession vs the reference design, N = ${fmt(size)}`,
          `${fmt(ratio, 2)}×`,
          '≥ 0.75×',
          ratio >= 0.75,
        );
      }
      push('');
    }

    push(
      '### Heap per session, including its key',
      '',
      `| implementation | ${PLAN.sizes.map((s) => `N = ${fmt(s)}`).join(' | ')} |`,
      `|---|${PLAN.sizes.map(() => '---:').join('|')}|`,
    );
    for (const impl of IMPLEMENTATIONS) {
      push(
        `| ${LABELS[impl]} | ${PLAN.sizes.map((s) => (by(impl, s) === undefined ? 'n/a' : `${fmt(by(impl, s).heapPerSession)} B`)).join(' | ')} |`,
      );
    }
    const top = PLAN.sizes[PLAN.sizes.length - 1];
    const ours = by('ours', top);
    const reference = by('reference', top);
    if (ours !== undefined && reference !== undefined) {
      const share = ours.heapPerSession / reference.heapPerSession;
      push(
        '',
        `(V8 heap plus ArrayBuffer memory after a full GC, divided by N.) At N = ${fmt(top)}: ours ${fmt(ours.heapPerSession)} B (target ≤ 450 B: ${mark(ours.heapPerSession <= 450)}), ${fmt(share, 2)} of the reference design's (target < 0.55: ${mark(share < 0.55)}).`,
        '',
      );
      target(
        `heap per session, N = ${fmt(top)}`,
        `${fmt(ours.heapPerSession)} B`,
        '≤ 450 B',
        ours.heapPerSession <= 450,
      );
      target(
        `heap per session vs the reference design, N = ${fmt(top)}`,
        `${fmt(share, 2)}×`,
        '< 0.55×',
        share < 0.55,
      );
    }
  }

  if (cleanup.length > 0) {
    push(
      '## cleanupExpiredSessions()',
      '',
      "A fake clock (Date.now replaced) sets which sessions have expired (`bench/store/cleanup-worker.mjs`), in three patterns: the oldest tenth (a new tenth tops the store up between rounds); an idle tenth scattered among used sessions, each used one read as the round starts and again half a timeout later, so that the expired sessions are spread among live ones in every bucket of creation time; and a mass expiry, every session expired after a pause longer than the timeout. The floor deletes exactly the expired ids from a `Map` (delete-only, no search). The checked floor is handed the same ids and adds the one step no store can skip before it removes a session: it reads the session (`Map.get`) and checks that it has expired, then deletes it; it keeps no other index, searches nothing and wipes no key. The indexed floor (`bench/store/cleanup-targets.mjs`) is the plainest store whose cleanup finds the expired sessions itself, without a scan, and removes them from every index a store needs: a `Map` by id, a `Set` per service and a `Set` per one-second expiry bucket, every touch moving its session to the bucket of its new expiry (so due buckets hold expired sessions only); a cleanup walks the due buckets, deletes each session from the three collections and wipes its key, synchronously. The longest block is the longest gap a 1 ms `setInterval` probe saw while the cleanup ran (synchronous cleanups block for their whole length); `monitorEventLoopDelay` (resolution 1 ms) agrees within a millisecond or two. Each measured cleanup starts 300 ms after a forced full collection, once the helper threads of V8 have finished sweeping after it: on two cores they would otherwise take turns on the core of the main thread during the cleanup. At the largest size, ours and the three floors each run in two worker processes of three rounds, in turn (ours, floor, checked floor, indexed floor, then again), and their figures pool the six rounds: where a process's memory lands moves all of its rounds alike, by up to a third. The probe also reads the process's CPU time (`process.cpuUsage()`, every thread) at each tick: a gap in which the process used little CPU is time it waited for a core, not a block of its own. After each cleanup the same probe runs, idle, for as long as the cleanup took: the longest gap it sees is the host's floor for the block figure." +
        (PIN
          ? ' The Redis run pins Redis to core 0 and its worker to core 1 (`taskset`), as the HTTP runs do.'
          : ''),
      '',
      '| implementation | N | pattern | total ms | spread | longest block ms | spread | CPU ms in the longest block | idle probe, longest gap ms |',
      '|---|---:|---|---:|---:|---:|---:|---:|---:|',
    );
    for (const r of cleanup) {
      const label = CLEANUP_LABELS[r.impl] ?? LABELS[r.impl];
      push(
        `| ${label} | ${fmt(r.size)} | ${CLEANUP_PATTERN_LABELS[r.pattern ?? 'oldest']} | ${fmt(r.cleanupMs.median, 1)} | ${spread(r.cleanupMs)} | ${fmt(r.longestTimerGapMs.median, 1)} | ${spread(r.longestTimerGapMs)} | ${fmt(r.longestGapCpuMs.median, 1)} | ${fmt(r.idleGapMs.median, 1)} |`,
      );
    }
    /** A summary's rounds, as the report lists them. */
    const roundsOf = (summary) => summary.rounds.map((x) => fmt(x, 1)).join(', ');
    // What the probe's gaps were made of, and the host's floor for them.
    const gapText = (r) =>
      `In its longest gap the process used ${fmt(r.longestGapCpuMs.median, 1)} ms of CPU (every thread), and at most ${fmt(r.busiestGapCpuMs.median, 1)} ms within any one gap; the same probe, idle for as long right after each cleanup, saw a longest gap of ${fmt(r.idleGapMs.median, 1)} ms (rounds ${roundsOf(r.idleGapMs)}).`;
    push('');
    for (const size of PLAN.cleanupSizes) {
      for (const pattern of CLEANUP_PATTERNS) {
        const find = (impl) =>
          cleanup.find(
            (r) => r.impl === impl && r.size === size && (r.pattern ?? 'oldest') === pattern,
          );
        const ours = find('ours');
        const floor = find('floor');
        if (ours === undefined || floor === undefined) continue;
        const ratio = ours.cleanupMs.median / floor.cleanupMs.median;
        const block = ours.longestTimerGapMs;
        const what = `N = ${fmt(size)}, ${CLEANUP_PATTERN_LABELS[pattern]}`;
        // A floor against the delete-only time, and ours against it. The checked floor does less
        // than any store must (its ids come for free, and it keeps no other index and wipes no
        // key): when it misses the 1.1× target itself, no store can meet it.
        const floorSentence = (impl, name, bound) => {
          const other = find(impl);
          if (other === undefined) return '';
          const floorRatio = other.cleanupMs.median / floor.cleanupMs.median;
          const reach = !bound
            ? ''
            : ` (target ≤ 1.1×: ${floorRatio <= 1.1 ? 'within reach' : '**beyond the floor**'})`;
          return ` The ${name} takes ${fmt(floorRatio, 2)}× the delete-only time${reach}, and ours ${fmt(ours.cleanupMs.median / other.cleanupMs.median, 2)}× the ${name}'s.`;
        };
        push(
          `- ${what}: ours takes ${fmt(ratio, 2)}× the floor's delete-only time (target ≤ 1.1×: ${mark(ratio <= 1.1)}); longest block ${fmt(block.median, 1)} ms, rounds ${roundsOf(block)} (target ≤ 10 ms: ${mark(block.median <= 10)}). ${gapText(ours)}${floorSentence('checked-floor', 'checked floor', true)}${floorSentence('indexed-floor', 'indexed floor', false)}`,
        );
        target(
          `cleanup time vs floor delete-only, ${what}`,
          `${fmt(ratio, 2)}×`,
          '≤ 1.1×',
          ratio <= 1.1,
        );
        target(
          `cleanup longest block (1 ms probe), ${what}`,
          `${fmt(block.median, 1)} ms`,
          '≤ 10 ms',
          block.median <= 10,
        );
      }
    }
    const red = cleanup.find((r) => r.impl === 'redis');
    if (red !== undefined) {
      const met = red.longestTimerGapMs.median <= 10;
      const floorText = met
        ? ''
        : red.idleGapMs.median > 10
          ? " The idle probe misses the target too: the miss is beyond the host's floor."
          : " The idle probe meets the target: the miss is not beyond the host's floor.";
      push(
        `- Redis store at N = ${fmt(red.size)}: one cleanup takes ${fmt(red.cleanupMs.median, 0)} ms; longest block ${fmt(red.longestTimerGapMs.median, 1)} ms, rounds ${roundsOf(red.longestTimerGapMs)} (target ≤ 10 ms: ${mark(met)}). ${gapText(red)}${floorText}`,
      );
      target(
        `Redis cleanup longest block (1 ms probe), N = ${fmt(red.size)}`,
        `${fmt(red.longestTimerGapMs.median, 1)} ms`,
        '≤ 10 ms',
        met,
      );
    }
    push('');
  }

  if (http.length > 0) {
    const { duration, warmup, rounds } = PLAN.http;
    push(
      '## HTTP',
      '',
      `Nest apps in child processes (\`bench/http/server.mjs\`), autocannon in the runner's process: 50 connections, ${duration} s per run, ${rounds} rounds in which every server of the group gets one run in turn (A/B/A/B), in an order that rotates between rounds. Each round starts a fresh process per server and ${warmup > 0 ? `warms each up (${warmup} s)` : 'runs it without a warm-up'} before its runs: a server process keeps a bias of its own for its whole life (in one full run with one process per server for all rounds, Express's allow-guard server took 5% less CPU per request than the unguarded one, every round), which a new process per round turns into spread between rounds. GET /bench returns \`{"ok":true}\`; one session carries the load, with ${fmt(PLAN.http.fillerSessions)} other sessions in the store. Signature-mode requests are signed before each run (each with its own nonce), and every server's requests go through the same \`setupRequest\` hook, so the load generator does the same work for each. ${PIN ? "The servers run on core 1, and autocannon (in the runner's process) and Redis on core 0 (`taskset`), so that neither takes CPU time from the other: left to the scheduler, a server and the load generator move between the two cores, and a server's CPU time per request then grows with what the load generator does meanwhile. " : 'Processes were not pinned to cores (no `taskset`). '}Server CPU is \`process.cpuUsage()\` in the server over the run, divided by the requests it served: the load generator runs on the same machine, and its own cost differs between modes, so that figure isolates the server. The lookup-floor servers run one guard of the bench's own (\`bench/http/floor-guards.mjs\`) that does every step of a session-id check, each the plainest way: the header's form checked by one regular expression, one \`Map.get\` among copies of the sessions the store holds, the clock check, the slide, and the session kept for the handler where the library keeps it; no \`@SkipSession()\`, revocation, rate limit, Promise API or telemetry. The hmac-floor servers run one guard: SessionGuard in session-id mode plus one HMAC-SHA256 over a signature base built from the request's \`Signature-Input\` (nothing parsed, no nonce claimed), the least any signature check can cost. The verify-floor servers run one guard too: SessionGuard in session-id mode plus every step of a signature check, each done the plainest way (\`bench/lib/verify-floor.mjs\`): one regular expression per header that accepts only the form \`signRequest\` emits, the clock check, one HMAC-SHA256 compared in constant time with the received bytes, and the nonce claimed in a \`Set\` that never expires anything; no fallback parser, no bounds or canonical checks, no refusal counting. What a verifier must do, without what makes it strict.${DIAGNOSE ? " The carried servers run session-id mode on requests that also carry a signed request's headers, which nothing reads: what transporting a signature costs. The hmac-twice servers run the hmac-floor's guard with its HMAC computed twice over the same base: against the hmac-floor, what a second HMAC adds once the first has brought OpenSSL's code and data into the CPU's caches." : ''} The redis-floor servers run SessionGuard in session-id mode on the memory store plus, in the same guard, one awaited \`EVALSHA\` through ioredis of a script that does, the plainest way, what a sliding check must do in Redis: it reads a stored session's fields (\`HMGET\` of the service, the sealed key at its stored size, and the three times), refuses an expired one, writes the new times (\`HSET\`), slides the key's TTL (\`PEXPIRE\`) and returns the fields. No index, no metadata, no hashed key names: the least any check on a Redis store can cost.`,
      '',
      `Then, on one more fresh process per server, ${QUICK ? '' : 'a paced warm-up and '}${PLAN.http.pacedRounds} paced rounds, side by side: every server of the group at once, each sent the same rate by its own autocannon (${PACED_CONNECTIONS} connections), ${duration} s per round, the rate chosen so that the group fills ${PACED_SHARE * 100}% of ${PIN ? 'the server core' : 'one core'} (from the servers' closed-loop CPU time per request). Closed-loop runs take turns, so a burst of load from elsewhere on the machine falls on one server's run and not on the next: their ratios swing by tens of percent on a busy host. Side by side, every server meets the same conditions at the same moment, so that a burst moves both sides of a ratio. A paced server is never saturated, so its CPU time per request is higher than in closed loop, where each wake-up serves a batch of requests; paced runs measure no throughput (every server gets the same rate).`,
      '',
    );
    const rps = (group, name) => group.runs[name]?.map((r) => r.rps);
    for (const group of http) {
      push(
        `### ${group.name}`,
        '',
        `| server | req/s (median) | spread | server CPU µs per request | spread | p50 latency ms | p99 latency ms | server CPU µs per request, paced side by side (${fmt(group.pacedRate)} req/s each) | spread |`,
        '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
      );
      for (const server of group.servers) {
        const runs = group.runs[server.name];
        const s = summarize(runs.map((r) => r.rps));
        const c = summarize(runs.map((r) => r.cpuPerRequest));
        const p = summarize(group.paced[server.name].map((r) => r.cpuPerRequest));
        push(
          `| ${server.name} | ${fmt(s.median)} | ${spread(s)} | ${fmt(c.median, 1)} | ${spread(c)} | ${fmt(median(runs.map((r) => r.latencyP50)), 1)} | ${fmt(median(runs.map((r) => r.latencyP99)), 1)} | ${fmt(p.median, 1)} | ${spread(p)} |`,
        );
      }
      push('');
    }
    const cpu = (group, name) => group.runs[name]?.map((r) => r.cpuPerRequest);
    const pacedCpu = (group, name) => group.paced[name]?.map((r) => r.cpuPerRequest);
    // Each ratio both ways: by throughput, and by the server's CPU time per request (b's over
    // a's, so that above 1 means a is cheaper), per round, then the median.
    const ratioTarget = (label, group, a, b, goal) => {
      const ways = [
        ['throughput', rps(group, a), rps(group, b), (x, y) => x / y],
        ['server CPU per request', cpu(group, a), cpu(group, b), (x, y) => y / x],
        [
          'server CPU per request, paced side by side',
          pacedCpu(group, a),
          pacedCpu(group, b),
          (x, y) => y / x,
        ],
      ];
      for (const [way, num, den, ratio] of ways) {
        if (num === undefined || den === undefined) continue;
        const perRound = num.map((n, i) => ratio(n, den[i]));
        const s = summarize(perRound);
        push(
          `| ${label} | ${way} | ${perRound.map((x) => fmt(x, 3)).join(', ')} | ${fmt(s.median, 3)} | ${goal === undefined ? '(diagnostic)' : `≥ ${goal}`} | ${goal === undefined ? '' : mark(s.median >= goal)} |`,
        );
        if (goal !== undefined) {
          target(`${label}, by ${way}`, fmt(s.median, 3), `≥ ${goal}`, s.median >= goal);
        }
      }
    };
    const [fastify, express] = http;
    push(
      '### HTTP ratios (median of the per-round ratios)',
      '',
      "By server CPU per request, a ratio is the other server's CPU time per request over this one's, so that above 1 means cheaper, as by throughput.",
      '',
      '| scenario | by | per round | median | target | |',
      '|---|---|---|---:|---|---|',
    );
    ratioTarget(
      'Fastify: guarded (memory) / unguarded',
      fastify,
      'fastify-guarded',
      'fastify-unguarded',
      0.9,
    );
    ratioTarget(
      'Express: guarded (memory) / unguarded',
      express,
      'express-guarded',
      'express-unguarded',
      0.95,
    );
    ratioTarget(
      'Fastify: signature mode / session-id mode (memory)',
      fastify,
      'fastify-signature',
      'fastify-guarded',
      0.85,
    );
    ratioTarget(
      'Express: signature mode / session-id mode (memory)',
      express,
      'express-signature',
      'express-guarded',
      0.85,
    );
    ratioTarget(
      'Fastify: hmac-floor / session-id mode: the most signature mode can reach',
      fastify,
      'fastify-hmac-floor',
      'fastify-guarded',
    );
    ratioTarget(
      'Express: hmac-floor / session-id mode: the most signature mode can reach',
      express,
      'express-hmac-floor',
      'express-guarded',
    );
    const platforms = [
      ['Fastify', fastify, 'fastify'],
      ['Express', express, 'express'],
    ];
    // Floors and diagnostics on both platforms, in sets of rows: [what, server, baseline].
    const platformRows = [
      [
        [
          'lookup-floor / unguarded: every step of a session-id check, done the plainest way',
          'lookup-floor',
          'unguarded',
        ],
        [
          'guarded (memory) / lookup-floor: what the library adds to those steps',
          'guarded',
          'lookup-floor',
        ],
      ],
      [
        [
          'verify-floor / session-id mode: every step of a signature check, done the plainest way',
          'verify-floor',
          'guarded',
        ],
        [
          'signature mode / verify-floor: what the library adds to those steps',
          'signature',
          'verify-floor',
        ],
      ],
      [
        ["carried (a signed request's headers, unread) / session-id mode", 'carried', 'guarded'],
        ['hmac-twice / hmac-floor: a second HMAC in the same request', 'hmac-twice', 'hmac-floor'],
      ],
    ];
    for (const rows of platformRows) {
      for (const [label, group, prefix] of platforms) {
        for (const [what, server, baseline] of rows) {
          ratioTarget(`${label}: ${what}`, group, `${prefix}-${server}`, `${prefix}-${baseline}`);
        }
      }
    }
    ratioTarget(
      'Fastify: guarded on Redis / guarded on memory',
      fastify,
      'fastify-guarded-redis',
      'fastify-guarded',
      0.7,
    );
    ratioTarget(
      'Fastify: redis-floor / guarded on memory: the most a check on Redis can reach',
      fastify,
      'fastify-redis-floor',
      'fastify-guarded',
    );
    ratioTarget(
      'Express: ours on Redis / express-session + connect-redis (same Redis)',
      express,
      'express-guarded-redis',
      'express-session-connect-redis',
      1.5,
    );
    ratioTarget(
      'Express: redis-floor / express-session + connect-redis: the most a check on Redis can reach',
      express,
      'express-redis-floor',
      'express-session-connect-redis',
    );
    // No guard on Redis can serve a request for less than the same app with no guard at all.
    ratioTarget(
      'Express: unguarded (no session at all) / express-session + connect-redis: the most any guard can reach',
      express,
      'express-unguarded',
      'express-session-connect-redis',
    );
    ratioTarget(
      'Express: guarded on Redis / guarded on memory',
      express,
      'express-guarded-redis',
      'express-guarded',
    );
    ratioTarget(
      'Fastify: a guard that allows everything / unguarded',
      fastify,
      'fastify-allow-guard',
      'fastify-unguarded',
    );
    ratioTarget(
      'Fastify: guarded (memory) / a guard that allows everything',
      fastify,
      'fastify-guarded',
      'fastify-allow-guard',
    );
    ratioTarget(
      'Express: a guard that allows everything / unguarded',
      express,
      'express-allow-guard',
      'express-unguarded',
    );
    ratioTarget(
      'Express: guarded (memory) / a guard that allows everything',
      express,
      'express-guarded',
      'express-allow-guard',
    );
    push('');
    const perRequest = [];
    for (const group of http) {
      for (const server of group.servers) {
        for (const run of group.runs[server.name]) {
          if (run.redisCommands === undefined) continue;
          const per = {};
          for (const [command, calls] of Object.entries(run.redisCommands)) {
            per[command] = calls / run.served;
          }
          perRequest.push({ name: server.name, per });
        }
      }
    }
    if (perRequest.length > 0) {
      push(
        '### Redis commands per request (INFO commandstats delta / requests the server answered, per round)',
        '',
        "Redis counts the commands a Lua script runs inside the server in INFO commandstats too, so the table lists every command: `evalsha` is what the app sends; the commands after it in our rows are what the store's script runs inside Redis within that one call.",
        '',
        '| server | command | per request, each round |',
        '|---|---|---|',
      );
      for (const name of [...new Set(perRequest.map((p) => p.name))]) {
        const rows = perRequest.filter((p) => p.name === name);
        const commands = [...new Set(rows.flatMap((r) => Object.keys(r.per)))].sort((a, b) =>
          a === 'evalsha' ? -1 : b === 'evalsha' ? 1 : a.localeCompare(b),
        );
        for (const command of commands) {
          push(
            `| ${name} | ${command} | ${rows.map((r) => fmt(r.per[command] ?? 0, 4)).join(', ')} |`,
          );
        }
        const totals = rows.map((r) => Object.values(r.per).reduce((a, b) => a + b, 0));
        push(`| ${name} | **all** | ${totals.map((t) => fmt(t, 4)).join(', ')} |`);
      }
      const ours = perRequest.filter((p) => p.name.includes('guarded-redis'));
      const sent = ours.map((r) => r.per.evalsha ?? 0);
      const exact = sent.every((v) => Math.abs(v - 1) < 1e-9);
      const totals = ours.map((r) => Object.values(r.per).reduce((a, b) => a + b, 0));
      push(
        '',
        `Guarded requests on the Redis store send ${sent.map((v) => fmt(v, 4)).join(', ')} EVALSHA each (one round trip; target exactly 1.0: ${mark(exact)}). Counting what the script runs inside Redis, commandstats grows by ${totals.map((v) => fmt(v, 4)).join(', ')} per request.`,
        '',
      );
      target(
        'Redis commands sent per guarded request (EVALSHA)',
        sent.map((v) => fmt(v, 4)).join(', '),
        'exactly 1.0',
        exact,
      );
    }
    if (redisMemory !== undefined) {
      const m = redisMemory;
      const kb = m.keyBytesPerSession;
      push(
        '### Redis memory per session',
        '',
        `\`bench/store/redis-memory.mjs\`: ${fmt(m.sessions)} sessions created through SessionManager on a RedisSessionStore (one service per ten sessions), measured on the keys the store wrote.`,
        '',
        '| what | bytes |',
        '|---|---:|',
        `| used_memory grown per session (INFO memory, all included) | ${fmt(m.usedMemoryPerSession)} |`,
        `| MEMORY USAGE per session: its record (hash) | ${fmt(kb.record)} |`,
        `| MEMORY USAGE per session: its share of the partition expiry indexes (sorted sets) | ${fmt(kb.index)} |`,
        `| MEMORY USAGE per session: its share of its service's set | ${fmt(kb.service)} |`,
        `| MEMORY USAGE of one claimed nonce (signature mode keeps one per signed request for the clock-skew window) | ${fmt(m.nonceBytes)} |`,
        '',
        `One createSession: ${Object.entries(m.commandsPerCreate)
          .map(([c, n]) => `${fmt(n, 2)} ${c}`)
          .join(', ')} (INFO commandstats, script-internal commands included).`,
        '',
      );
    }
    const measured = http.flatMap((g) => Object.values(g.runs).flat());
    const onTheFly = measured.reduce((n, r) => n + r.signedOnTheFly, 0);
    const presigned = measured.reduce((n, r) => n + r.presigned, 0);
    if (presigned > 0 || onTheFly > 0)
      push(
        onTheFly > 0
          ? `(${fmt(onTheFly)} signature-mode requests were signed during a run because the pre-signed pool ran out.)`
          : `(No signature-mode request was signed during a measured run: ${fmt(presigned)} were signed before the runs, in pools sized from ${PLAN.http.warmup > 0 ? 'the fastest rate a session-id server of the group had reached (at least 25,000 req/s)' : 'an assumed 40,000 req/s'}, with a 1.5× margin.)`,
        '',
      );
  }

  if (grpc !== undefined) push(...grpcSection(grpc, target));
  if (telemetry !== undefined) push(...telemetrySection(telemetry, target));

  if (extraOutputs.length > 0) {
    push(
      '## Handshake, signing and Redis store benchmarks',
      '',
      'Handshakes per second, the latency signature verification adds to a request, and (with `--all-extras`) the standalone Redis store benchmark: run by the suite with short settings; their own output, unchanged.',
      '',
    );
    for (const extra of extraOutputs) {
      push(
        `### \`node bench/${extra.file} ${extra.args.join(' ')}\``,
        '',
        '```',
        extra.stdout.trim(),
        '```',
        '',
      );
    }
  }

  push('## Targets', '', ...(QUICK ? [`> ${QUICK_DISCLAIMER}`, ''] : []));
  push('| scenario | measured | target | |', '|---|---|---|---|');
  for (const t of targets) push(`| ${t.scenario} | ${t.measured} | ${t.goal} | ${mark(t.ok)} |`);
  push('');
  return { markdown: lines.join('\n'), targets };
}

// ---------------------------------------------------------------------------------------------

const loadStart = loadavg()[0];
const redis = wants('redis') || wants('http') || wants('cleanup') ? await startRedis() : undefined;
try {
  const store = wants('store') ? await storeScenarios() : [];
  const cleanup = wants('cleanup') ? await cleanupScenarios(redis) : [];
  const http = wants('http') ? await httpScenarios(redis) : [];
  const grpc = wants('grpc') ? await grpcScenarios() : undefined;
  const redisMemory =
    redis !== undefined && wants('redis')
      ? await runWorker(
          'store/redis-memory.mjs',
          ['--redis-url', redis.url, '--sessions', QUICK ? '2000' : '20000'],
          180_000,
        )
      : undefined;
  const telemetry = wants('telemetry') ? await telemetryScenarios() : undefined;
  // The quick smoke run leaves the handshake and signing benchmarks out, to stay under a minute.
  const extraOutputs = wants('extras') && !QUICK ? await extras() : [];
  const { markdown, targets } = report({
    store,
    cleanup,
    http,
    grpc,
    telemetry,
    redisMemory,
    extraOutputs,
    redis,
    loadStart,
    loadEnd: loadavg()[0],
  });
  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(OUT, markdown);
  log(`wrote ${OUT}`);
  for (const line of targetLines(targets, QUICK)) console.log(line);
} finally {
  await redis?.stop();
}
