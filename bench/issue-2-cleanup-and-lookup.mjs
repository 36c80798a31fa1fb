// Issue 2's measurements, on the built package (run `npm run build` first):
//   node --expose-gc bench/issue-2-cleanup-and-lookup.mjs
//
// 1. A MemorySessionStore behind SessionManager holding 1,000,000 sessions, 100,000 of them
//    expired: the time of one cleanupExpiredSessions() call and its longest event-loop block.
// 2. getSessionByServiceId at 100,000 sessions (10,000 services of 10 sessions each).
//
// The clock is faked by replacing Date.now, which is the only clock SessionManager reads for
// session times; the cleanup's slicing and the event-loop monitor use the monotonic clock and
// stay real.
import { randomBytes } from 'node:crypto';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { clearInterval, setInterval } from 'node:timers';
import { setImmediate as tick } from 'node:timers/promises';
import { SessionManager } from '../dist/index.js';

const TIMEOUT = 3_600_000;
const realNow = Date.now;
let fakeNow = realNow();
Date.now = () => fakeNow;

const gc = globalThis.gc ?? (() => {});
const fmt = (ms) => `${ms.toFixed(3)} ms`;

async function cleanupAtScale(total, expired) {
  const manager = new SessionManager({ sessionTimeout: TIMEOUT, cleanupInterval: false });
  const key = randomBytes(32);
  const services = Math.max(1, total / 10);
  // The sessions that will expire are created first, one every ms of fake time, spread over many
  // expiry buckets as real traffic would be; the rest are created later and stay live.
  for (let i = 0; i < expired; i++) {
    fakeNow += 1;
    await manager.createSession(`svc-${i % services}`, key);
  }
  fakeNow += 60_000;
  for (let i = expired; i < total; i++) {
    if (i % 10 === 0) fakeNow += 1;
    await manager.createSession(`svc-${i % services}`, key);
  }
  // Move to just after the last early session expired; every later one is still live.
  fakeNow = fakeNow - Math.ceil((total - expired) / 10) - 60_000 + TIMEOUT + 1;
  gc();

  // A 1 ms timer, timed against the monotonic clock: the largest gap between two of its runs is
  // the longest stretch the loop could not run it (block + up to 1 ms of its own period).
  let lastTick = performance.now();
  let maxGap = 0;
  const ticker = setInterval(() => {
    const t = performance.now();
    if (t - lastTick > maxGap) maxGap = t - lastTick;
    lastTick = t;
  }, 1);
  await tick();
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  lastTick = performance.now();
  maxGap = 0;
  const start = performance.now();
  const removed = await manager.cleanupExpiredSessions();
  const elapsed = performance.now() - start;
  histogram.disable();
  clearInterval(ticker);
  const stats = await manager.getStats();
  return {
    removed,
    remaining: stats.activeSessions,
    elapsed,
    // monitorEventLoopDelay reports how late its 1 ms timer fired: the block minus nothing.
    histogramMax: histogram.max / 1e6,
    maxGap,
  };
}

async function serviceLookup(total, servicesCount, calls) {
  const manager = new SessionManager({ sessionTimeout: TIMEOUT, cleanupInterval: false });
  const key = randomBytes(32);
  for (let i = 0; i < total; i++) {
    await manager.createSession(`svc-${i % servicesCount}`, key);
    if (i % 100 === 0) fakeNow += 1;
  }
  fakeNow += 1;
  gc();
  for (let i = 0; i < 10_000; i++) await manager.getSessionByServiceId(`svc-${i % servicesCount}`);
  const rounds = [];
  for (let r = 0; r < 5; r++) {
    const start = performance.now();
    for (let i = 0; i < calls; i++) {
      const found = await manager.getSessionByServiceId(`svc-${(i * 7919) % servicesCount}`);
      if (found === undefined) throw new Error('lookup found nothing');
    }
    rounds.push(((performance.now() - start) * 1000) / calls);
  }
  rounds.sort((a, b) => a - b);
  return { median: rounds[2], min: rounds[0], max: rounds[4] };
}

const TOTAL = Number(process.env.BENCH_TOTAL ?? 1_000_000);
const EXPIRED = TOTAL / 10;
console.log(`Node ${process.version}, ${process.arch}`);
const buildStart = performance.now();
const cleanup = await cleanupAtScale(TOTAL, EXPIRED);
console.log(
  `cleanupExpiredSessions() on ${TOTAL.toLocaleString('en')} sessions, ` +
    `${EXPIRED.toLocaleString('en')} expired (setup + run ${fmt(performance.now() - buildStart)}):`,
);
console.log(`  removed ${cleanup.removed}, ${cleanup.remaining} left`);
console.log(`  total time of the call:                       ${fmt(cleanup.elapsed)}`);
console.log(
  `  longest event-loop block (monitorEventLoopDelay max, 1 ms resolution): ${fmt(cleanup.histogramMax)}`,
);
console.log(`  longest gap between runs of a 1 ms timer:     ${fmt(cleanup.maxGap)}`);
if (cleanup.removed !== EXPIRED || cleanup.remaining !== TOTAL - EXPIRED) {
  throw new Error('cleanup removed the wrong sessions');
}
gc();

const lookup = await serviceLookup(100_000, 10_000, 100_000);
console.log('getSessionByServiceId at 100,000 sessions (10,000 services x 10 sessions):');
console.log(
  `  ${lookup.median.toFixed(3)} µs per call (median of 5 rounds of 100,000 calls; ` +
    `min ${lookup.min.toFixed(3)}, max ${lookup.max.toFixed(3)})`,
);
Date.now = realNow;
