// The latency signature verification adds to a request, as a ratio against a guarded route in
// session-id mode, on one app with the memory store. On the built package (run `npm run build`
// first):
//   node bench/signing.bench.mjs [--platform fastify|express] [--requests 4000] [--rounds 5]
//
// One app (bench/handshake-app.mjs) serves the same handler behind SessionGuard in session-id
// mode (/id/echo) and behind SessionGuard in signature mode (/signed/echo), on one memory
// store and one session. Two measurements:
// 1. The guard alone, in process: canActivate() per request, with prepared requests (each
//    signed request with its own nonce, signed before the clock starts). This is the cost of
//    verification itself: header parsing, nonce claim, digest, HMAC.
// 2. Over HTTP: sequential requests on one keep-alive connection to the app in a child
//    process, GET without a body and POST with a 256-byte JSON body; per-request latency, with
//    the client's signing done before the clock starts, so the figure is what the server and
//    the wire add.
// Rounds alternate the two modes; each figure is the median of the rounds' medians.
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { NestFactory } from '@nestjs/core';
import {
  generateIdentityKeyPair,
  SessionGuard,
  SessionManager,
  signRequest,
} from '../dist/index.js';
import { benchModule, SignedGuard, spawnBenchServer } from './handshake-app.mjs';
import { median, parseArgs, summarize } from './lib/stats.mjs';

const args = parseArgs();
const PLATFORM = args.platform === 'express' ? 'express' : 'fastify';
const REQUESTS = Number(args.requests ?? 4000);
const ROUNDS = Number(args.rounds ?? 5);
const BODY = Buffer.from(JSON.stringify({ payload: 'x'.repeat(240) }));

const greeter = generateIdentityKeyPair();
const caller = generateIdentityKeyPair();
const keys = { greeterPrivateKey: greeter.privateKey, callerPublicKey: caller.publicKey };

// -------------------------------------------------------------------------------------------
// 1. The guard alone.

function context(request) {
  const http = { getRequest: () => request, getResponse: () => ({ header() {} }) };
  return {
    getType: () => 'http',
    getHandler: () => context,
    getClass: () => context,
    switchToHttp: () => http,
  };
}

async function guardAlone() {
  const app = await NestFactory.createApplicationContext(benchModule(keys), { logger: false });
  const key = randomBytes(32);
  const session = await app.get(SessionManager).createSession('caller', key);
  const idGuard = app.get(SessionGuard);
  const signedGuard = app.get(SignedGuard);
  const url = 'http://bench.local/signed/echo';
  const idRequests = () =>
    Array.from({ length: REQUESTS }, () => ({
      method: 'GET',
      url: '/id/echo',
      headers: { host: 'bench.local', 'x-mesh-session-id': session.id },
    }));
  const signedRequests = () =>
    Array.from({ length: REQUESTS }, () => ({
      method: 'GET',
      url: '/signed/echo',
      protocol: 'http',
      headers: {
        host: 'bench.local',
        ...signRequest({ method: 'GET', url, sessionId: session.id, sessionKey: key }),
      },
    }));
  const time = async (guard, requests) => {
    const contexts = requests.map(context);
    const t0 = performance.now();
    for (const ctx of contexts) {
      if ((await guard.canActivate(ctx)) !== true) throw new Error('refused');
    }
    return ((performance.now() - t0) * 1000) / contexts.length; // µs per request
  };
  await time(idGuard, idRequests());
  await time(signedGuard, signedRequests());
  const id = [];
  const signed = [];
  for (let round = 0; round < ROUNDS; round++) {
    id.push(await time(idGuard, idRequests()));
    signed.push(await time(signedGuard, signedRequests()));
  }
  await app.close();
  return { id: summarize(id), signed: summarize(signed) };
}

// -------------------------------------------------------------------------------------------
// 2. Over HTTP.

function send(agent, port, method, path, headers, body) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = request(
      {
        agent,
        host: '127.0.0.1',
        port,
        method,
        path,
        headers: {
          ...headers,
          ...(body ? { 'content-type': 'application/json', 'content-length': body.length } : {}),
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode !== 200) reject(new Error(`${method} ${path}: ${res.statusCode}`));
          else resolve(performance.now() - t0);
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function overHttp(method) {
  const key = randomBytes(32);
  const server = await spawnBenchServer({ platform: PLATFORM, ...keys, sessionKey: key });
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const base = `http://127.0.0.1:${server.port}`;
  const body = method === 'POST' ? BODY : undefined;
  const run = async (mode) => {
    const path = `/${mode}/echo`;
    const headers = Array.from({ length: REQUESTS }, () =>
      mode === 'id'
        ? { 'x-mesh-session-id': server.sessionId }
        : signRequest({
            method,
            url: base + path,
            body,
            sessionId: server.sessionId,
            sessionKey: key,
          }),
    );
    const latencies = [];
    for (const h of headers) latencies.push(await send(agent, server.port, method, path, h, body));
    return median(latencies) * 1000; // µs
  };
  try {
    await run('id');
    await run('signed');
    const id = [];
    const signed = [];
    for (let round = 0; round < ROUNDS; round++) {
      id.push(await run('id'));
      signed.push(await run('signed'));
    }
    return { id: summarize(id), signed: summarize(signed) };
  } finally {
    agent.destroy();
    await server.close();
  }
}

const line = (label, { id, signed }) =>
  `${label}: session-id ${id.median.toFixed(1)} µs (±${id.spreadPct.toFixed(1)}%), ` +
  `signature ${signed.median.toFixed(1)} µs (±${signed.spreadPct.toFixed(1)}%), ` +
  `ratio ${(signed.median / id.median).toFixed(2)}, added ${(signed.median - id.median).toFixed(1)} µs`;

console.log(
  `Node ${process.version}, ${ROUNDS} rounds of ${REQUESTS} requests per mode, memory store`,
);
console.log(line('guard alone, GET (µs per canActivate)', await guardAlone()));
console.log(line(`HTTP ${PLATFORM}, GET (median latency)`, await overHttp('GET')));
console.log(line(`HTTP ${PLATFORM}, POST 256-byte JSON (median latency)`, await overHttp('POST')));
