// A Nest app for the HTTP benchmarks, in a child process of its own (forked by bench/run.mjs),
// so that the server and the load generator never share an event loop.
//
// The parent sends one config message over IPC (never on a command line or in a log):
//   { platform: 'fastify' | 'express',
//     variant: 'unguarded' | 'allow-guard' | 'lookup-floor' | 'guarded' | 'carried'
//              | 'hmac-floor' | 'hmac-twice' | 'verify-floor' | 'redis-floor' | 'signature'
//              | 'express-session',
//     store: 'memory' | 'redis', redisUrl?, sessionKey (hex), fillerSessions,
//     telemetry?: 'metrics' | 'tracing' (an OpenTelemetry SDK, see telemetry-sdk.mjs),
//     meshTelemetry?: false (the library's own telemetry off) }
// The child starts the app on a free loopback port and answers { port, sessionId?, cookie? };
// later, { served: true } asks how many requests the bench route has answered, and this
// process's CPU time so far (process.cpuUsage()), so that the parent measures the server alone.
// Every variant serves GET /bench -> {"ok":true} and imports the same module, so the only
// difference between two variants is what guards the route:
// - unguarded:       nothing;
// - allow-guard:     a guard that returns true (Nest's own cost of running a guard);
// - lookup-floor:    a guard doing every step of a session-id check the plainest way: the
//                    header's form checked by one regular expression, one Map.get among the
//                    same sessions the store holds, the clock check, the slide, the session kept
//                    for the handler (bench/http/floor-guards.mjs);
// - guarded:         SessionGuard, session-id mode, on the memory or the Redis store;
// - carried:         as guarded, on requests that also carry a signed request's headers, which
//                    nothing reads: what transporting a signature costs;
// - hmac-floor:      SessionGuard in session-id mode, plus (in the same guard) one HMAC-SHA256
//                    over a signature base built from the request's Signature-Input (nothing
//                    parsed, no nonce): the least signature mode can cost, memory store;
// - hmac-twice:      hmac-floor with the same HMAC computed twice: the second one is what an
//                    HMAC costs once its code and data are in the CPU's caches;
// - verify-floor:    SessionGuard in session-id mode, plus (in the same guard) every step of a
//                    signature check done the plainest way (bench/lib/verify-floor.mjs): one
//                    regular expression per header, the clock check, one HMAC compared in
//                    constant time, the nonce claimed in a Set; memory store;
// - redis-floor:     SessionGuard in session-id mode on the memory store, plus (in the same
//                    guard) one awaited EVALSHA through ioredis of a script that reads a stored
//                    session's fields, writes its new times and slides its TTL: the least a
//                    check on a Redis store can cost;
// - signature:       SessionGuard in signature mode (RFC 9421), memory store;
// - express-session: express-session with connect-redis, and a guard that requires a session
//                    (Express only).
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { Controller, Get, Module, Req, UseGuards } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { RedisStore } from 'connect-redis';
import session from 'express-session';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { MeshSessionModule, SessionGuard, SessionManager } from '../../dist/index.js';
import { RedisSessionStore } from '../../dist/redis.js';
import {
  addFloorSession,
  AllowGuard,
  ExpressSessionGuard,
  HmacFloorGuard,
  HmacTwiceGuard,
  LookupFloorGuard,
  redisFloorGuard,
  VerifyFloorGuard,
} from './floor-guards.mjs';

/** Requests the bench route answered; the parent asks for it around each run. */
let served = 0;

// Plain JavaScript has no decorator syntax: decorators are applied as functions.
function benchController(guards) {
  class BenchController {
    bench() {
      served++;
      return { ok: true };
    }
  }
  const proto = BenchController.prototype;
  Reflect.decorate([Get('bench')], proto, 'bench', Object.getOwnPropertyDescriptor(proto, 'bench'));
  if (guards.length > 0) UseGuards(...guards)(BenchController);
  Controller()(BenchController);
  return BenchController;
}

function loginController() {
  class LoginController {
    login(req) {
      req.session.serviceId = 'caller';
      return { ok: true };
    }
  }
  const proto = LoginController.prototype;
  Reflect.decorate([Get('login')], proto, 'login', Object.getOwnPropertyDescriptor(proto, 'login'));
  Req()(proto, 'login', 0);
  Controller()(LoginController);
  return LoginController;
}

function benchModule(config, store, floorGuard) {
  const guards = {
    unguarded: [],
    'allow-guard': [AllowGuard],
    'lookup-floor': [LookupFloorGuard],
    guarded: [SessionGuard],
    carried: [SessionGuard],
    'hmac-floor': [HmacFloorGuard],
    'hmac-twice': [HmacTwiceGuard],
    'verify-floor': [VerifyFloorGuard],
    'redis-floor': [floorGuard],
    signature: [SessionGuard],
  }[config.variant];
  const controllers =
    config.variant === 'express-session'
      ? [benchController([ExpressSessionGuard]), loginController()]
      : [benchController(guards)];
  class BenchModule {}
  Module({
    imports: [
      MeshSessionModule.forRoot({
        serviceId: 'bench',
        cleanupInterval: false,
        requestSigning: config.variant === 'signature',
        store,
        // The SDK without the library's own telemetry: what an instrumented app pays anyway.
        ...(config.meshTelemetry === false ? { telemetry: { enabled: false } } : {}),
      }),
    ],
    controllers,
    // A guard of the bench's own is a provider of this module; SessionGuard is the library's.
    providers:
      config.variant === 'express-session'
        ? [ExpressSessionGuard]
        : guards.filter((guard) => guard !== SessionGuard),
  })(BenchModule);
  return BenchModule;
}

function get(port, path) {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path }, (res) => {
      res.resume();
      res.on('end', () => resolve(res));
    });
    req.on('error', reject);
    req.end();
  });
}

async function serve(config) {
  const store =
    config.store === 'redis' && config.variant !== 'express-session'
      ? new RedisSessionStore({
          url: config.redisUrl,
          encryptionKeys: [randomBytes(32)],
          keyPrefix: `bench-${process.pid}:`,
        })
      : undefined;
  const express = config.platform === 'express';
  let floorRedis;
  let floorGuard;
  if (config.variant === 'redis-floor') {
    floorRedis = new Redis(config.redisUrl);
    floorGuard = await redisFloorGuard(floorRedis);
  }
  // Registered before the app is created, as an app's instrumentation file does.
  const telemetry =
    config.telemetry === undefined
      ? undefined
      : (await import('./telemetry-sdk.mjs')).startTelemetry(config.telemetry);
  const app = await NestFactory.create(
    benchModule(config, store, floorGuard),
    express ? new ExpressAdapter() : new FastifyAdapter(),
    { logger: ['error'], rawBody: true },
  );
  let redisClient;
  if (config.variant === 'express-session') {
    redisClient = createClient({ url: config.redisUrl });
    await redisClient.connect();
    app.use(
      session({
        store: new RedisStore({ client: redisClient, prefix: `sess-${process.pid}:` }),
        secret: randomBytes(32).toString('hex'),
        resave: false,
        saveUninitialized: false,
        cookie: { maxAge: 3_600_000, httpOnly: true },
      }),
    );
  }
  telemetry?.instrument(app);
  await app.listen(0, '127.0.0.1');
  const port = app.getHttpServer().address().port;
  const answer = { port };
  if (config.variant === 'express-session') {
    const res = await get(port, '/login');
    answer.cookie = String(res.headers['set-cookie'][0]).split(';')[0];
  } else {
    const manager = app.get(SessionManager);
    // The store holds other sessions too, as a live service's would.
    // The lookup-floor's guard reads its own copies of the same sessions.
    const keep = config.variant === 'lookup-floor' ? addFloorSession : () => {};
    for (let i = 0; i < config.fillerSessions; i++) {
      keep(await manager.createSession(`filler-${i % 100}`, randomBytes(32)));
    }
    const created = await manager.createSession('caller', Buffer.from(config.sessionKey, 'hex'));
    keep(created);
    answer.sessionId = created.id;
  }
  process.on('message', async (message) => {
    if (message?.served) {
      process.send({ served, cpu: process.cpuUsage(), spans: telemetry?.spans() ?? 0 });
    }
    if (message?.stop) {
      await app.close();
      await redisClient?.quit();
      await floorRedis?.quit();
      process.exit(0);
    }
  });
  process.send(answer);
}

process.once('message', (config) => {
  serve(config).catch((error) => {
    console.error(error);
    process.exit(1);
  });
});
