// One implementation at one size, in a fresh process (run by bench/run.mjs):
//   node --expose-gc bench/store/worker.mjs --impl ours --size 100000 --rounds 5 --lookups 200000
// Measures, in this order: heap per session (including its key), getSession-with-touch on random
// ids, the lookup by service id (where the implementation has one), and createSession on a store
// already holding `size` sessions. Prints one RESULT line of JSON.
import { performance } from 'node:perf_hooks';
import { newSessionKey } from '../lib/keys.mjs';
import { collect, heapBytes, parseArgs, report, summarize } from '../lib/stats.mjs';
import { createImplementation } from './impls.mjs';

const args = parseArgs();
const implName = String(args.impl);
const size = Number(args.size);
const rounds = Number(args.rounds ?? 5);
const lookups = Number(args.lookups ?? 200_000);
const TIMEOUT = 3_600_000;
const ID_LENGTH = 36;
const services = Math.max(1, Math.floor(size / 10));

// A fresh string per call, as a service id read from a request would be.
const serviceName = (k) => `svc-${k}`;

const impl = createImplementation(implName, { timeout: TIMEOUT, size });
const result = { impl: implName, size, rounds };

async function populate(count, offset) {
  // Asynchronous stores get up to 256 creates in flight, as concurrent requests would.
  let pending = [];
  for (let i = 0; i < count; i++) {
    // Each key is its own Buffer, as a key derived in a handshake would be.
    const key = newSessionKey();
    const created = impl.create(serviceName((offset + i) % services), key);
    if (impl.async) {
      pending.push(created);
      if (pending.length === 256) {
        await Promise.all(pending);
        pending = [];
      }
    }
  }
  await Promise.all(pending);
}

// 1. Heap per session: nothing but the store holds the sessions while the heap is measured.
collect(2);
const before = heapBytes();
const buildStart = performance.now();
await populate(size, 0);
result.buildMs = performance.now() - buildStart;
collect(2);
result.heapPerSession = (heapBytes() - before) / size;

// The ids, copied into one Buffer so the harness holds no strings of its own.
const idBuffer = Buffer.alloc(size * ID_LENGTH);
let held = 0;
for (const id of impl.ids()) {
  idBuffer.write(id, held * ID_LENGTH, 'latin1');
  held++;
}
if (held !== size) throw new Error(`${implName} holds ${held} sessions, expected ${size}`);

/** Fresh, flat id strings, as read from request headers. */
function randomIds(count) {
  const ids = new Array(count);
  for (let i = 0; i < count; i++) {
    const at = Math.floor(Math.random() * size) * ID_LENGTH;
    ids[i] = idBuffer.toString('latin1', at, at + ID_LENGTH);
  }
  return ids;
}

async function getRound(count, get = impl.get, async = impl.async) {
  const ids = randomIds(count);
  collect();
  impl.beginRound?.();
  let misses = 0;
  const start = performance.now();
  if (async) {
    for (let i = 0; i < count; i++) if ((await get(ids[i])) === undefined) misses++;
  } else {
    for (let i = 0; i < count; i++) if (get(ids[i]) === undefined) misses++;
  }
  const elapsed = performance.now() - start;
  if (misses > 0) throw new Error(`${implName}: ${misses} lookups missed`);
  return (elapsed * 1e6) / count;
}

// 2. getSession with touch, on random ids (ns per call). Slow implementations get shorter
// rounds (at least 20,000 calls, about 0.6 s), so that the suite stays within its time budget.
const warmNs = await getRound(Math.max(1_000, lookups >> 2));
const perRound = Math.max(Math.min(lookups, 20_000), Math.min(lookups, Math.round(6e8 / warmNs)));
const getNs = [];
for (let r = 0; r < rounds; r++) getNs.push(await getRound(perRound));
result.getNs = summarize(getNs);
result.lookupsPerRound = perRound;
// 2b. The same read without a Promise, where the API has one (the guard's check), in turn with
// the awaited read above so that both see the same heap.
if (impl.getNow !== undefined) {
  await getRound(Math.max(1_000, lookups >> 2), impl.getNow, false);
  const getNowNs = [];
  for (let r = 0; r < rounds; r++) getNowNs.push(await getRound(perRound, impl.getNow, false));
  result.getNowNs = summarize(getNowNs);
}

// 3. The most recently active session of a service, on random services (µs per call).
if (impl.byService !== undefined) {
  const byServiceRound = async (minCalls, minMs) => {
    collect();
    let calls = 0;
    const start = performance.now();
    while (calls < minCalls || performance.now() - start < minMs) {
      const found = impl.byService(serviceName(Math.floor(Math.random() * services)));
      if ((impl.async ? await found : found) === undefined) throw new Error('no session found');
      calls++;
    }
    return ((performance.now() - start) * 1000) / calls;
  };
  await byServiceRound(3, 20);
  const byServiceUs = [];
  for (let r = 0; r < rounds; r++) byServiceUs.push(await byServiceRound(3, 100));
  result.byServiceUs = summarize(byServiceUs);
}

// 4. createSession on a store holding `size` sessions: a batch is created (timed), then removed.
const batch = Math.max(1_000, Math.min(100_000, Math.floor(size / 10)));
const createRound = async () => {
  const keys = Array.from({ length: batch }, () => newSessionKey());
  const names = Array.from({ length: batch }, (_, i) => serviceName(i % services));
  const created = new Array(batch);
  collect();
  const start = performance.now();
  if (impl.async) {
    for (let i = 0; i < batch; i++) created[i] = await impl.create(names[i], keys[i]);
  } else {
    for (let i = 0; i < batch; i++) created[i] = impl.create(names[i], keys[i]);
  }
  const elapsed = performance.now() - start;
  for (const s of created) {
    const removed = impl.remove(s.id);
    if (impl.async) await removed;
  }
  return (elapsed * 1e6) / batch;
};
// Each round creates and removes a tenth of the store: 3 rounds keep the suite in its budget.
// Only ours and the reference design have a createSession target; --create runs it for the
// others too.
if (implName === 'ours' || implName === 'reference' || args.create === true) {
  await createRound();
  const createNs = [];
  for (let r = 0; r < Math.min(rounds, 3); r++) createNs.push(await createRound());
  result.createNs = summarize(createNs);
}

report(result);
