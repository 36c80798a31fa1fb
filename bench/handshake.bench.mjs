// Handshakes per second, on the built package (run `npm run build` first):
//   node bench/handshake.bench.mjs [--platform fastify|express] [--handshakes 2000] [--concurrency 8] [--rounds 5]
//
// 0. The server side alone: HandshakeService.accept() on client hellos signed beforehand
//    (signature check, replay claim, X25519, HKDF, session creation, signed reply): what one
//    server core can accept.
// 1. In process: the full handshake (client hello, server checks and key derivation, session
//    creation in the memory store, signed reply, client verification and derivation) with
//    HttpMeshConnection talking to HandshakeService through an in-memory fetch: the crypto and
//    bookkeeping cost of one handshake, both sides on one core.
// 2. Over HTTP: HttpMeshConnection.connect() against a Nest app in a child process (one core
//    each), `--concurrency` handshakes in flight, on loopback.
// Each figure is the median of `--rounds` rounds, with the spread around it.
import 'reflect-metadata';
import { createPrivateKey, randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import {
  generateIdentityKeyPair,
  HandshakeService,
  MemorySessionStore,
  MeshAuditEmitter,
  HttpMeshConnection,
  SessionManager,
} from '../dist/index.js';
import { resolveMeshClientOptions } from '../dist/client/mesh-client.options.js';
import { resolveMeshSessionOptions } from '../dist/options/mesh-session.options.js';
import { createClientHello } from '../dist/protocol/handshake/client-handshake.js';
import { createEphemeralKeyPair } from '../dist/protocol/handshake/ephemeral-keys.js';
import { spawnBenchServer } from './handshake-app.mjs';
import { parseArgs, summarize } from './lib/stats.mjs';

const args = parseArgs();
const PLATFORM = args.platform === 'express' ? 'express' : 'fastify';
const HANDSHAKES = Number(args.handshakes ?? 2000);
const CONCURRENCY = Number(args.concurrency ?? 8);
const ROUNDS = Number(args.rounds ?? 5);

const greeter = generateIdentityKeyPair();
const caller = generateIdentityKeyPair();

function clientOptions(url, fetchImpl) {
  return resolveMeshClientOptions({
    serviceId: 'caller',
    privateKey: caller.privateKey,
    services: { greeter: { url, publicKey: greeter.publicKey } },
    fetch: fetchImpl,
  });
}

/** Runs `total` handshakes with `concurrency` in flight; returns handshakes per second. */
async function drive(options, total, concurrency) {
  const service = options.services.get('greeter');
  let started = 0;
  const worker = async () => {
    while (started < total) {
      started++;
      await new HttpMeshConnection(options, service).connect();
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  return total / ((performance.now() - t0) / 1000);
}

/**
 * The server side as the module wires it: one memory store, a SessionManager over it, and a
 * HandshakeService with the endpoint options the module would resolve.
 */
function createServer() {
  const options = resolveMeshSessionOptions({
    serviceId: 'greeter',
    cleanupInterval: false,
    handshake: {
      privateKey: greeter.privateKey,
      trustedServices: { caller: caller.publicKey },
      rateLimit: false,
    },
  });
  const store = new MemorySessionStore();
  const audit = new MeshAuditEmitter(options.monitoring, options.serviceId);
  const sessions = new SessionManager(
    store,
    { sessionTimeout: options.sessionTimeout, maxSessionLifetime: options.maxSessionLifetime },
    audit,
  );
  const handshakes = new HandshakeService(sessions, store, audit, {
    ...options.handshake,
    serviceId: options.serviceId,
    storeTimeout: options.storeTimeout,
  });
  return {
    handshakes,
    close: async () => {
      await handshakes.onApplicationShutdown();
      await store.close();
    },
  };
}

/** The server side alone: HandshakeService.accept() on hellos signed before the clock starts. */
async function serverSide() {
  const server = createServer();
  const identityKey = createPrivateKey(caller.privateKey);
  const peer = { address: '127.0.0.1' };
  const hellos = (n) =>
    Array.from({ length: n }, () =>
      JSON.stringify(
        createClientHello({
          clientId: 'caller',
          serverId: 'greeter',
          identityKey,
          ephemeral: createEphemeralKeyPair(),
        }).hello,
      ),
    );
  const time = async (batch) => {
    const t0 = performance.now();
    for (const hello of batch) await server.handshakes.accept(hello, peer);
    return batch.length / ((performance.now() - t0) / 1000);
  };
  try {
    await time(hellos(200)); // warm-up
    const rates = [];
    for (let round = 0; round < ROUNDS; round++) rates.push(await time(hellos(HANDSHAKES)));
    return summarize(rates);
  } finally {
    await server.close();
  }
}

async function inProcess() {
  const server = createServer();
  const peer = { address: '127.0.0.1' };
  const inMemoryFetch = async (_url, init) =>
    new globalThis.Response(JSON.stringify(await server.handshakes.accept(init.body, peer)), {
      status: 201,
    });
  const client = clientOptions('http://greeter.local', inMemoryFetch);
  try {
    await drive(client, 200, 1); // warm-up
    const rates = [];
    for (let round = 0; round < ROUNDS; round++) rates.push(await drive(client, HANDSHAKES, 1));
    return summarize(rates);
  } finally {
    await server.close();
  }
}

async function overHttp() {
  const server = await spawnBenchServer({
    platform: PLATFORM,
    greeterPrivateKey: greeter.privateKey,
    callerPublicKey: caller.publicKey,
    sessionKey: randomBytes(32),
  });
  try {
    const client = clientOptions(`http://127.0.0.1:${server.port}`);
    await drive(client, 200, CONCURRENCY); // warm-up
    const rates = [];
    for (let round = 0; round < ROUNDS; round++) {
      rates.push(await drive(client, HANDSHAKES, CONCURRENCY));
    }
    return summarize(rates);
  } finally {
    await server.close();
  }
}

const fmt = ({ median, spreadPct }) =>
  `${Math.round(median)} handshakes/s (±${spreadPct.toFixed(1)}%)`;
console.log(`Node ${process.version}, ${ROUNDS} rounds of ${HANDSHAKES} handshakes`);
console.log(`server side alone (HandshakeService.accept), one core: ${fmt(await serverSide())}`);
console.log(`in process, client and server on one core:   ${fmt(await inProcess())}`);
console.log(
  `over HTTP (${PLATFORM}, ${CONCURRENCY} in flight, server in its own process): ${fmt(await overHttp())}`,
);
