// Redis server CPU per store call, from INFO commandstats (usec_per_call of EVALSHA), on a
// RedisSessionStore: what capacity planning divides a shard's core by.
//   node bench/store/redis-cost.mjs --redis-url redis://127.0.0.1:6390 [--calls 50000]
//
// Each operation runs `--calls` times, one at a time, on sessions among 10,000 others:
// - validateSession: what the guard sends per request in session-id mode (read and slide);
// - readSession + claimNonceAndTouch: what signature mode sends for the first request of a
//   session in a process;
// - claimNonceAndTouch: what it sends for the next ones (the module keeps the keys of verified
//   sessions when the store is remote);
// - createSession: what a handshake writes.
// Reports, per operation: EVALSHA calls per operation and the server's microseconds per call
// (commandstats usec_per_call, the script's own commands included), with a fresh CONFIG
// RESETSTAT before each.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { SessionManager } from '../../dist/index.js';
import { RedisSessionStore } from '../../dist/redis.js';
import { parseArgs, report } from '../lib/stats.mjs';

const args = parseArgs();
const url = String(args['redis-url']);
const calls = Number(args.calls ?? 50_000);
const admin = new Redis(url);
const store = new RedisSessionStore({
  url,
  encryptionKeys: [randomBytes(32)],
  keyPrefix: `cost-${process.pid}:`,
});
const manager = new SessionManager(store, { sessionTimeout: 3_600_000 });

const ids = [];
for (let i = 0; i < 10_000; i += 200) {
  const batch = [];
  for (let j = 0; j < 200; j++)
    batch.push(manager.createSession(`svc-${(i + j) % 1_000}`, randomBytes(32)));
  ids.push(...(await Promise.all(batch)).map((s) => s.id));
}

async function measure(name, operation) {
  await admin.config('RESETSTAT');
  for (let i = 0; i < calls; i++) await operation(i);
  const stats = await admin.info('commandstats');
  const evalsha = /^cmdstat_evalsha:calls=(\d+),usec=(\d+),usec_per_call=([\d.]+)/m.exec(stats);
  return {
    name,
    evalshaPerOperation: Number(evalsha[1]) / calls,
    serverMicrosPerOperation: Number(evalsha[2]) / calls,
    usecPerEvalsha: Number(evalsha[3]),
  };
}

const pick = (i) => `${ids[(i * 7_919) % ids.length]} `.trimEnd();
const results = [
  await measure('validateSession (session-id mode, per request)', (i) =>
    manager.validateSession(pick(i)),
  ),
  await measure(
    'readSession + claimNonceAndTouch (signature mode, first request of a session)',
    async (i) => {
      const id = pick(i);
      await manager.readSession(id);
      await manager.claimNonceAndTouch(id, randomBytes(16).toString('base64url'), 61_000);
    },
  ),
  await measure('claimNonceAndTouch (signature mode, per request of a cached session)', (i) =>
    manager.claimNonceAndTouch(pick(i), randomBytes(16).toString('base64url'), 61_000),
  ),
  await measure('createSession (per handshake)', (i) =>
    manager.createSession(`new-${i % 1_000}`, randomBytes(32)),
  ),
];
await store.close();
await admin.quit();
report({ calls, results });
