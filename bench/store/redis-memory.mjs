// Redis memory per session and per claimed nonce, on real keys written by the store, in a
// fresh process (run by bench/run.mjs with its Redis):
//   node bench/store/redis-memory.mjs --redis-url redis://127.0.0.1:6390 --sessions 20000
//
// Creates `--sessions` sessions (one service per ten) through SessionManager on a
// RedisSessionStore with its own key prefix, then reports:
// - used_memory (INFO memory) grown per session, everything included;
// - MEMORY USAGE of the keys each session owns: its record (hash), and its share of the
//   partition expiry index (sorted set) and of its service's set, summed over every key the
//   prefix holds and divided by the sessions;
// - the keys and the commands (INFO commandstats) one createSession costs;
// - MEMORY USAGE of a claimed nonce (signature mode keeps one per signed request, for the clock
//   skew window), after signed requests claimed some.
import { randomBytes } from 'node:crypto';
import { URL } from 'node:url';
import { Redis } from 'ioredis';
import { RequestVerifier, SessionManager, signRequest } from '../../dist/index.js';
import { RedisSessionStore } from '../../dist/redis.js';
import { parseArgs, report } from '../lib/stats.mjs';

const args = parseArgs();
const url = String(args['redis-url']);
const sessions = Number(args.sessions ?? 20_000);
const prefix = `mem-${process.pid}:`;
const admin = new Redis(url);
const store = new RedisSessionStore({ url, encryptionKeys: [randomBytes(32)], keyPrefix: prefix });
const manager = new SessionManager(store, { sessionTimeout: 3_600_000 });

const usedMemory = async () => Number(/^used_memory:(\d+)/m.exec(await admin.info('memory'))[1]);
const commandCalls = async () => {
  const calls = {};
  for (const m of (await admin.info('commandstats')).matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    calls[m[1]] = Number(m[2]);
  }
  return calls;
};

async function keysOf(pattern) {
  const keys = [];
  let cursor = '0';
  do {
    const [next, batch] = await admin.scan(cursor, 'MATCH', pattern, 'COUNT', 1_000);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return keys;
}

async function memoryOf(keys) {
  let bytes = 0;
  for (let i = 0; i < keys.length; i += 500) {
    const pipeline = admin.pipeline();
    for (const key of keys.slice(i, i + 500)) pipeline.memory('USAGE', key, 'SAMPLES', 0);
    for (const [error, value] of await pipeline.exec()) {
      if (error) throw error;
      bytes += Number(value);
    }
  }
  return bytes;
}

// One session first, so that scripts are loaded and the store's connection is up.
await manager.createSession('warm-up', randomBytes(32));
const memoryBefore = await usedMemory();
const callsBefore = await commandCalls();
const created = [];
for (let i = 0; i < sessions; i += 200) {
  const batch = [];
  for (let j = i; j < Math.min(sessions, i + 200); j++) {
    batch.push(manager.createSession(`svc-${j % Math.max(1, sessions / 10)}`, randomBytes(32)));
  }
  created.push(...(await Promise.all(batch)));
}
const callsAfter = await commandCalls();
const memoryAfter = await usedMemory();

const byKind = { record: ':s:', index: ':x', service: ':v:' };
const keyBytes = {};
let keyCount = 0;
for (const [kind, marker] of Object.entries(byKind)) {
  const keys = (await keysOf(`${prefix}*`)).filter((key) =>
    kind === 'index' ? key.endsWith(marker) : key.includes(marker),
  );
  keyCount += keys.length;
  keyBytes[kind] = (await memoryOf(keys)) / (sessions + 1);
}
const commandsPerCreate = {};
for (const [command, calls] of Object.entries(callsAfter)) {
  const delta = calls - (callsBefore[command] ?? 0);
  if (delta > 0 && command !== 'info') commandsPerCreate[command] = delta / sessions;
}

// Signed requests claim nonces: the bytes of one claimed nonce.
const verifier = new RequestVerifier(manager);
const key = randomBytes(32);
const signer = await manager.createSession('signer', key);
const requestUrl = new URL('http://greeter/bench');
for (let i = 0; i < 200; i++) {
  const headers = signRequest({
    method: 'GET',
    url: requestUrl,
    sessionId: signer.id,
    sessionKey: key,
  });
  await verifier.verify({
    method: 'GET',
    targetUri: 'http://greeter/bench',
    headers,
    rawBody: undefined,
    hasBody: false,
  });
}
const nonceKeys = (await keysOf(`${prefix}*`)).filter((k) => k.includes(':n:'));
if (nonceKeys.length !== 200) throw new Error(`${nonceKeys.length} nonce keys, expected 200`);
const nonceBytes = (await memoryOf(nonceKeys)) / nonceKeys.length;

for (const s of created) await manager.invalidateSession(s.id);
await store.close();
await admin.quit();
report({
  sessions,
  usedMemoryPerSession: (memoryAfter - memoryBefore) / sessions,
  keyBytesPerSession: keyBytes,
  keysPerSession: keyCount / (sessions + 1),
  commandsPerCreate,
  nonceBytes,
});
