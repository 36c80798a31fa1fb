// The Redis store's costs, on the built package (run `npm run build` first):
//   node --expose-gc bench/redis-store.mjs [--sessions 1000000] [--duration 8] [--skip-cleanup]
//
// It starts its own redis-server on a free port (nothing else talks to it, so INFO commandstats
// counts only this process), and reports:
// 1. Redis commands per guarded request, from INFO commandstats: the commands the app sent
//    (EVALSHA) and, apart, what the script ran inside Redis; without and with rate limiting.
// 2. Guarded requests per second through a Nest app (Fastify, or Express with --express) on the
//    Redis store against the memory store (autocannon in a separate process), and the
//    store-level touch rate; both against redis-benchmark's GET rate on the same server.
// 3. Cleanup with 1,000,000 sessions in Redis, 10% of them expired: loaded with pipelines of
//    the store's own create script; one SessionManager.cleanupExpiredSessions() timed, with
//    its longest event-loop block (monitorEventLoopDelay) and Redis's slowest script call.
import 'reflect-metadata';
import { execFile, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Controller, Get, Module, UseGuards } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Redis } from 'ioredis';
import {
  CurrentSession,
  MemorySessionStore,
  MeshSession,
  MeshSessionModule,
  SessionGuard,
  SessionManager,
} from '../dist/index.js';
import { RedisSessionStore } from '../dist/redis.js';
import { RedisKeyLayout } from '../dist/stores/redis/redis-key-layout.js';
import { RedisSessionCipher } from '../dist/stores/redis/redis-session-cipher.js';
import { RedisSessionScripts } from '../dist/stores/redis/redis-session-scripts.js';
import { freePort } from './lib/stats.mjs';

const run = promisify(execFile);
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(args[i + 1]);
};
const TOTAL = option('sessions', 1_000_000);
const DURATION = option('duration', 8);
const EXPRESS = args.includes('--express');
const SKIP_CLEANUP = args.includes('--skip-cleanup');
const KEY = randomBytes(32);
const HOUR = 3_600_000;
const fmt = (n, digits = 0) =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

// ---------------------------------------------------------------------------------------------
// A private redis-server.

async function startRedis() {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'mesh-bench-redis-'));
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { cwd: dir, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  child.on('error', (error) => {
    console.error(
      error.code === 'ENOENT' ? 'redis-server not found: apt-get install redis-server' : error,
    );
    process.exit(1);
  });
  await new Promise((resolve) => {
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      if (out.includes('Ready to accept connections')) resolve();
    });
  });
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    stop: () => {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function commandStats(info) {
  const calls = {};
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) {
    calls[m[1]] = { calls: Number(m[2]), usec: Number(m[3]) };
  }
  return calls;
}

// ---------------------------------------------------------------------------------------------
// The app under test.

// Plain JavaScript has no decorators: apply them as functions.
class WhoamiController {
  whoami(session) {
    return { serviceId: session.serviceId };
  }
}
const whoami = Object.getOwnPropertyDescriptor(WhoamiController.prototype, 'whoami');
Reflect.defineMetadata('design:paramtypes', [Object], WhoamiController.prototype, 'whoami');
CurrentSession()(WhoamiController.prototype, 'whoami', 0);
Reflect.decorate(
  [UseGuards(SessionGuard), Get('whoami')],
  WhoamiController.prototype,
  'whoami',
  whoami,
);
Controller()(WhoamiController);

async function startApp(store, rateLimit) {
  class AppModule {}
  Module({
    imports: [MeshSessionModule.forRoot({ store, cleanupInterval: false, rateLimit })],
    controllers: [WhoamiController],
  })(AppModule);
  const app = await NestFactory.create(
    AppModule,
    EXPRESS ? new ExpressAdapter() : new FastifyAdapter(),
    { logger: false },
  );
  await app.listen(0, '127.0.0.1');
  const session = await app.get(SessionManager).createSession('bench', randomBytes(32));
  return { app, session, url: `http://127.0.0.1:${app.getHttpServer().address().port}/whoami` };
}

async function autocannon(url, sessionId, seconds) {
  const { stdout } = await run(
    'node_modules/.bin/autocannon',
    ['-c', '32', '-d', String(seconds), '-j', '-H', `x-mesh-session-id=${sessionId}`, url],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  const result = JSON.parse(stdout);
  return {
    rps: result.requests.average,
    total: result.requests.total,
    non2xx: result.non2xx,
    p99: result.latency.p99,
  };
}

async function commandsPerRequest(redis, admin, rateLimit) {
  const store = new RedisSessionStore({ url: redis.url, encryptionKeys: [KEY] });
  const { app, url, session } = await startApp(store, rateLimit);
  // Warm up: scripts loaded, connections open.
  for (let i = 0; i < 20; i++)
    await globalThis.fetch(url, { headers: { 'x-mesh-session-id': session.id } });
  const N = 2_000;
  await admin.config('RESETSTAT');
  for (let i = 0; i < N; i++) {
    const res = await globalThis.fetch(url, { headers: { 'x-mesh-session-id': session.id } });
    if (res.status !== 200) throw new Error(`request ${i} answered ${res.status}`);
    await res.arrayBuffer();
  }
  const stats = commandStats(await admin.info('commandstats'));
  await app.close();
  const sent = Object.entries(stats).filter(([name]) => /^(evalsha|eval)$/.test(name));
  const inside = Object.entries(stats).filter(
    ([name]) => !/^(evalsha|eval|info|config)/.test(name),
  );
  return {
    requests: N,
    sentPerRequest: sent.reduce((sum, [, s]) => sum + s.calls, 0) / N,
    sent: Object.fromEntries(sent.map(([name, s]) => [name, s.calls / N])),
    insideScripts: Object.fromEntries(inside.map(([name, s]) => [name, s.calls / N])),
  };
}

async function storeTouchRate(store, id, seconds) {
  const deadline = performance.now() + seconds * 1000;
  let done = 0;
  const worker = async () => {
    while (performance.now() < deadline) {
      await store.touch(id, Date.now(), HOUR, undefined);
      done++;
    }
  };
  await Promise.all(Array.from({ length: 64 }, worker));
  return done / seconds;
}

// ---------------------------------------------------------------------------------------------
// Cleanup at scale.

async function loadSessions(redis, keyPrefix, total, expired, shortTtl) {
  const client = new Redis(redis.url);
  const layout = new RedisKeyLayout(keyPrefix);
  const cipher = new RedisSessionCipher([KEY]);
  const { sha, source } = RedisSessionScripts.create;
  await client.script('LOAD', source);
  const now = Date.now();
  const started = performance.now();
  const BATCH = 5_000;
  for (let from = 0; from < total; from += BATCH) {
    const pipeline = client.pipeline();
    for (let i = from; i < Math.min(total, from + BATCH); i++) {
      const id = randomUUID();
      const serviceId = `svc-${i % 10_000}`;
      const { hid, base, record, index } = layout.session(id);
      const serviceHash = layout.serviceHash(serviceId);
      const ttl = i < expired ? shortTtl : HOUR;
      pipeline.evalsha(
        sha,
        3,
        record,
        index,
        layout.serviceIndex(base, serviceHash),
        hid,
        hid + serviceHash,
        now + ttl,
        ttl,
        'v',
        serviceId,
        'w',
        serviceHash,
        'k',
        cipher.encrypt(KEY, id),
        'i',
        cipher.encrypt(Buffer.from(id), hid),
        'c',
        now,
        'l',
        now,
        'e',
        now + ttl,
      );
    }
    const results = await pipeline.exec();
    const failed = results.find(([error, ok]) => error || ok !== 1);
    if (failed) throw failed[0] ?? new Error('create refused');
  }
  client.disconnect();
  return { ms: performance.now() - started, expiresAt: now + shortTtl };
}

async function cleanupAtScale(redis, admin) {
  const expired = Math.round(TOTAL / 10);
  const keyPrefix = 'cleanup:';
  const shortTtl = 1_000;
  const loaded = await loadSessions(redis, keyPrefix, TOTAL, expired, shortTtl);
  const store = new RedisSessionStore({ url: redis.url, encryptionKeys: [KEY], keyPrefix });
  const manager = new SessionManager(store);
  const before = await store.count();
  const memory = (await admin.info('memory')).match(/used_memory_human:(\S+)/)[1];
  // Redis drops the expired records through their TTL; their index entries remain for cleanup.
  while (Date.now() <= loaded.expiresAt + 5) await sleep(50);
  globalThis.gc?.();

  await admin.config('RESETSTAT');
  await admin.config('SET', 'slowlog-log-slower-than', '0');
  await admin.config('SET', 'slowlog-max-len', '100000');
  await admin.slowlog('RESET');
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const started = performance.now();
  const removed = await manager.cleanupExpiredSessions();
  const ms = performance.now() - started;
  loop.disable();
  const slowlog = await admin.slowlog('GET', 100_000);
  const scriptCalls = slowlog.filter((entry) => /^evalsha$/i.test(String(entry[3][0])));
  const longestScriptUs = Math.max(...scriptCalls.map((entry) => entry[2]));
  const stats = commandStats(await admin.info('commandstats'));
  const after = await store.count();
  await store.close();
  return {
    total: TOTAL,
    expired,
    loadSeconds: loaded.ms / 1000,
    redisMemory: memory,
    countBefore: before,
    removed,
    countAfter: after,
    cleanupMs: ms,
    longestLoopBlockMs: loop.max / 1e6,
    scriptCalls: stats.evalsha?.calls ?? 0,
    longestScriptMs: longestScriptUs / 1000,
    meanScriptMs: (stats.evalsha?.usec ?? 0) / (stats.evalsha?.calls ?? 1) / 1000,
  };
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const redis = await startRedis();
  const admin = new Redis(redis.url);
  try {
    console.log(
      `# Redis store benchmark (${EXPRESS ? 'Express' : 'Fastify'}), node ${process.version}`,
    );
    console.log(
      `redis-server ${(await admin.info('server')).match(/redis_version:(\S+)/)[1]} on ${redis.url}\n`,
    );

    console.log('## 1. Redis commands per guarded request (INFO commandstats)');
    for (const rateLimit of [false, { maxRequests: 1_000_000_000, windowMs: 60_000 }]) {
      const r = await commandsPerRequest(redis, admin, rateLimit);
      console.log(
        `rate limit ${rateLimit ? 'on ' : 'off'}: ${r.sentPerRequest.toFixed(3)} commands sent per request ${JSON.stringify(r.sent)}; run inside the scripts: ${JSON.stringify(r.insideScripts)} (${r.requests} requests)`,
      );
    }

    console.log('\n## 2. Throughput');
    const { stdout: bench } = await run('redis-benchmark', [
      '-p',
      String(redis.port),
      '-t',
      'get',
      '-n',
      '300000',
      '-c',
      '32',
      '-q',
    ]);
    const getRate = Number(bench.match(/GET: ([\d.]+) requests per second/)[1]);
    console.log(`redis-benchmark -t get -c 32 (no pipelining): ${fmt(getRate)} GET/s`);

    const results = {};
    for (const name of ['memory', 'redis']) {
      const store =
        name === 'memory'
          ? new MemorySessionStore()
          : new RedisSessionStore({ url: redis.url, encryptionKeys: [KEY], keyPrefix: 'http:' });
      const { app, url, session } = await startApp(store, false);
      await autocannon(url, session.id, 1); // warm-up
      results[name] = await autocannon(url, session.id, DURATION);
      await app.close();
      console.log(
        `guarded GET on the ${name} store: ${fmt(results[name].rps)} req/s (p99 ${results[name].p99} ms, ${results[name].non2xx} non-2xx of ${fmt(results[name].total)}), autocannon -c 32 -d ${DURATION}`,
      );
    }
    console.log(
      `ratio redis/memory: ${(results.redis.rps / results.memory.rps).toFixed(3)}; redis store/redis-benchmark GET: ${(results.redis.rps / getRate).toFixed(3)}`,
    );

    const touchStore = new RedisSessionStore({
      url: redis.url,
      encryptionKeys: [KEY],
      keyPrefix: 'touch:',
    });
    const memoryStore = new MemorySessionStore();
    const now = Date.now();
    const s = new MeshSession(randomUUID(), 'bench', randomBytes(32), now, now, now + HOUR);
    await touchStore.create(s);
    await memoryStore.create(s);
    const redisTouch = await storeTouchRate(touchStore, s.id, 4);
    const memoryTouch = await storeTouchRate(memoryStore, s.id, 2);
    await touchStore.close();
    console.log(
      `store.touch() without HTTP, 64 in flight: redis ${fmt(redisTouch)}/s, memory ${fmt(memoryTouch)}/s; redis touch/redis-benchmark GET: ${(redisTouch / getRate).toFixed(3)}`,
    );

    if (!SKIP_CLEANUP) {
      console.log(`\n## 3. Cleanup with ${fmt(TOTAL)} sessions in Redis, 10% expired`);
      const c = await cleanupAtScale(redis, admin);
      console.log(
        `loaded ${fmt(c.total)} sessions with pipelines in ${c.loadSeconds.toFixed(1)} s (Redis used_memory ${c.redisMemory}); count() before: ${fmt(c.countBefore)}`,
      );
      console.log(
        `cleanupExpiredSessions(): removed ${fmt(c.removed)} in ${fmt(c.cleanupMs, 1)} ms; count() after: ${fmt(c.countAfter)}`,
      );
      console.log(
        `longest event-loop block during cleanup: ${c.longestLoopBlockMs.toFixed(2)} ms; ${fmt(c.scriptCalls)} script calls, longest ${c.longestScriptMs.toFixed(2)} ms, mean ${c.meanScriptMs.toFixed(3)} ms inside Redis`,
      );
    }
  } finally {
    admin.disconnect();
    redis.stop();
  }
}

await main();
