// cleanupExpiredSessions() for one implementation at one size and one pattern of expiry, in a
// fresh process (run by bench/run.mjs):
//   node --expose-gc bench/store/cleanup-worker.mjs --impl ours --size 1000000 --rounds 3 \
//     [--pattern oldest|scattered|mass]
//
// The clock is faked (Date.now is replaced). The cleanup's own slicing and the event-loop
// monitors use the monotonic clock and stay real. Patterns:
// - oldest (default): exactly the oldest tenth is expired in each round. Sessions are created in
//   generations of size/10, one per fake ms; round r expires generation r, then a new
//   generation tops the store back up to `size`. Generation 0, as large as the others, is the
//   warm-up round's.
// - scattered: a random tenth of the sessions sits idle while the others are used: every other
//   session is read (a touch) as the round starts and again half a timeout later, and the clock
//   then moves on until exactly the idle tenth has expired, scattered among live sessions in
//   every bucket of creation time. A new tenth tops the store up after each round.
// - mass: a pause longer than the timeout: every session has expired by the cleanup, and the
//   store is filled anew for the next round.
//
// - ours:      one `await manager.cleanupExpiredSessions()`; its total time, and the longest
//              event-loop block from monitorEventLoopDelay (resolution 1 ms) and from a 1 ms
//              timer.
// - floor:     delete-only, the least any store can do: `Map.delete` of exactly the expired ids.
// - reference: the reference design's full-scan cleanup (synchronous: the block is the whole
//              call).
// - redis:     like ours, on a RedisSessionStore (--redis-url); the sessions are loaded with
//              pipelines of the store's own create script (bench/store/redis-loader.mjs).
//
// After each cleanup, the same probe runs for as long again in the same process with nothing to
// do: the longest gap it sees is the host's floor for that figure, the time a process that
// blocks nothing still waits for a core. Each gap's CPU time (every thread of the process) tells
// the two apart.
import { randomBytes } from 'node:crypto';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { setTimeout as delay, setImmediate as tick } from 'node:timers/promises';
import { RedisSessionStore } from '../../dist/redis.js';
import { GapProbe } from '../lib/gap-probe.mjs';
import { newSessionKey } from '../lib/keys.mjs';
import { collect, parseArgs, report, summarize } from '../lib/stats.mjs';
import { createCleanupTarget } from './cleanup-targets.mjs';
import { RedisSessionLoader } from './redis-loader.mjs';

const args = parseArgs();
const implName = String(args.impl);
const size = Number(args.size);
const rounds = Number(args.rounds ?? 3);
const pattern = String(args.pattern ?? 'oldest');
/** Idle time between the forced collection and a measured cleanup (ms). */
const SETTLE_MS = 300;
if (!['oldest', 'scattered', 'mass'].includes(pattern)) throw new Error(`pattern ${pattern}?`);
if (pattern !== 'oldest' && implName === 'redis') throw new Error('redis runs pattern oldest');
const TIMEOUT = 3_600_000;
const generation = size / 10;
const GAP = TIMEOUT / 5;
const T0 = Date.UTC(2026, 0, 1);

let fakeNow = T0;
Date.now = () => fakeNow;

const services = Math.max(1, Math.floor(size / 10));
const redisOptions = {
  url: String(args['redis-url']),
  encryptionKey: randomBytes(32),
  keyPrefix: `cleanup-${process.pid}:`,
};
const target = await createCleanupTarget(implName, {
  timeout: TIMEOUT,
  size,
  createStore: async () =>
    new RedisSessionStore({
      url: redisOptions.url,
      encryptionKeys: [redisOptions.encryptionKey],
      keyPrefix: redisOptions.keyPrefix,
    }),
});
const loader = implName === 'redis' ? new RedisSessionLoader(redisOptions) : undefined;
/** Keys of a few Redis sessions, read back through the store once they are loaded. */
const samples = new Map();
const LOAD_KEY = randomBytes(32);
const generations = [];

async function createGeneration(g, count = generation) {
  if (loader !== undefined) {
    const keys = new Map();
    const ids = await loader.load(count, {
      serviceOf: (i) => `svc-${(g * generation + i) % services}`,
      // Random keys cost a getrandom call each; a few random ones are checked when read back.
      keyOf: (i) => {
        if (i % 9_973 !== 0) return LOAD_KEY;
        const key = randomBytes(32);
        keys.set(i, key);
        return key;
      },
      timeOf: (i) => T0 + g * GAP + i,
      timeout: TIMEOUT,
    });
    for (const [i, key] of keys)
      samples.set(ids[i], { key, service: `svc-${(g * generation + i) % services}` });
    generations[g] = ids;
    return;
  }
  const ids = new Array(count);
  for (let i = 0; i < count; i++) {
    fakeNow = T0 + g * GAP + i;
    ids[i] = await target.create(`svc-${(g * generation + i) % services}`, newSessionKey());
  }
  generations[g] = ids;
}

// Generation 0 expires first: the warm-up round removes it. It is as large as a timed round's,
// so that the code of every implementation is compiled for the work it measures (a smaller
// warm-up left part of the compilation inside the first timed round). Generations 1 to 10 hold
// the `size` sessions the timed rounds start from.
if (pattern === 'oldest') {
  for (let g = 0; g <= 10; g++) await createGeneration(g);
}
if (loader !== undefined) {
  // The loaded sessions must be exactly what the store itself would have written.
  const stored = await target.count();
  if (stored !== size + generation) throw new Error(`redis: ${stored} sessions loaded`);
  for (const [id, { key, service }] of samples) {
    const session = await target.store.get(id, T0);
    if (session?.serviceId !== service || !session.sessionKey.equals(key)) {
      throw new Error(`redis: session ${id} does not read back as it was loaded`);
    }
  }
}

/**
 * One timed cleanup that must remove exactly `expiredIds` (which only the floor reads), leaving
 * `expectLeft` sessions.
 */
async function timedCleanup(expiredIds, expectLeft) {
  collect();
  // The forced collection leaves V8's helper threads sweeping for a while; on two cores they
  // would take the main thread's core in turns during the measured cleanup, a cost of this
  // benchmark's own gc() call and not of the cleanup. They finish first.
  await delay(SETTLE_MS);
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  const probe = new GapProbe().start();
  await tick();
  histogram.enable();
  probe.restart();
  const start = performance.now();
  const removed = await target.cleanup(expiredIds);
  const elapsed = performance.now() - start;
  await probe.stop();
  histogram.disable();
  if (removed !== expiredIds.length) {
    throw new Error(`${implName} removed ${removed} sessions, expected ${expiredIds.length}`);
  }
  // The host's own floor: the same probe in the same process, with nothing to do for as long as
  // the cleanup took. Its gaps are time the process spent waiting for a core.
  const idle = new GapProbe().start();
  await delay(Math.max(elapsed, 1));
  await idle.stop();
  const left = await target.count();
  if (left !== expectLeft) throw new Error(`${implName}: ${left} left, expected ${expectLeft}`);
  // The histogram reports how late its 1 ms timer fired, and the probe the longest gap between
  // two of its ticks; a synchronous cleanup shows as one block of its whole length.
  const sync = target.synchronous === true;
  return {
    ms: elapsed,
    blockMs: sync ? elapsed : histogram.max / 1e6,
    gapMs: sync ? elapsed : probe.longestGapMs,
    gapCpuMs: probe.longestGapCpuMs,
    busiestGapCpuMs: probe.busiestGapCpuMs,
    idleGapMs: idle.longestGapMs,
  };
}

async function cleanupRound(r, final) {
  const count = generations[r].length;
  fakeNow = T0 + r * GAP + TIMEOUT + count;
  const result = await timedCleanup(generations[r], r === 0 ? size : size - count);
  generations[r] = undefined;
  // A new generation tops the store back up to `size` for the next round.
  if (r > 0 && !final) await createGeneration(10 + r);
  return result;
}

/** Creates `count` sessions at the current fake time, one fake ms per thousand. */
async function createLive(count, into) {
  const base = fakeNow;
  for (let i = 0; i < count; i++) {
    fakeNow = base + Math.floor(i / 1_000);
    into.push(await target.create(`svc-${(into.length + i) % services}`, newSessionKey()));
  }
}

async function scatteredRounds() {
  let live = [];
  await createLive(size, live);
  const results = [];
  for (let r = 0; r <= rounds; r++) {
    const roundStart = fakeNow;
    // A random tenth sits idle, in the warm-up round too (it must take every path a timed round
    // takes, or the first timed round compiles them as it runs); a partial shuffle puts it at
    // the end of `live`.
    const idleCount = generation;
    for (let i = 0; i < idleCount; i++) {
      const j = Math.floor(Math.random() * (live.length - i));
      const last = live.length - 1 - i;
      [live[j], live[last]] = [live[last], live[j]];
    }
    const idle = live.slice(live.length - idleCount);
    live = live.slice(0, live.length - idleCount);
    // The used sessions are read as the round starts (those of the last round would otherwise
    // expire before the next read), then half a timeout later.
    for (let i = 0; i < live.length; i++) await target.touch(live[i]);
    fakeNow = roundStart + TIMEOUT / 2;
    for (let i = 0; i < live.length; i++) await target.touch(live[i]);
    // Idle sessions were last active by roundStart: all of them have expired, and no session
    // read at roundStart + TIMEOUT / 2 has.
    fakeNow = roundStart + TIMEOUT + 1;
    const result = await timedCleanup(idle, live.length);
    if (r > 0) results.push(result);
    if (r < rounds) await createLive(size - live.length, live);
  }
  return results;
}

async function massRounds() {
  const results = [];
  for (let r = 0; r <= rounds; r++) {
    const ids = [];
    // Round 0, the warm-up, as large as the others: a hundredth of the size left several paths
    // of the walk to be compiled during the first timed round.
    await createLive(size, ids);
    fakeNow += TIMEOUT + 1;
    const result = await timedCleanup(ids, 0);
    if (r > 0) results.push(result);
  }
  return results;
}

let results;
if (pattern === 'oldest') {
  await cleanupRound(0, false);
  results = [];
  for (let r = 1; r <= rounds; r++) results.push(await cleanupRound(r, r === rounds));
} else {
  results = pattern === 'scattered' ? await scatteredRounds() : await massRounds();
}
await target.close?.();
loader?.close();
report({
  impl: implName,
  size,
  rounds,
  pattern,
  expired: pattern === 'mass' ? size : generation,
  cleanupMs: summarize(results.map((x) => x.ms)),
  longestBlockMs: summarize(results.map((x) => x.blockMs)),
  longestTimerGapMs: summarize(results.map((x) => x.gapMs)),
  longestGapCpuMs: summarize(results.map((x) => x.gapCpuMs)),
  busiestGapCpuMs: summarize(results.map((x) => x.busiestGapCpuMs)),
  idleGapMs: summarize(results.map((x) => x.idleGapMs)),
});
