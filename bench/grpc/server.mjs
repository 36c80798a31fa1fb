// A Nest gRPC microservice for the gRPC benchmark, in a child process of its own (forked by
// bench/grpc.bench.mjs), so that the server and the load generator never share an event loop.
//
// The parent sends one config message over IPC (the session key never goes on a command line):
//   { variant: 'unguarded' | 'allow-guard' | 'guarded' | 'carried' | 'hmac-floor' | 'verify-floor'
//     | 'signature' | 'signature-rfc9421', port, sessionKey (hex), fillerSessions }
// The child answers { sessionId } once listening; then { mark: true } answers the calls served
// so far and this process's CPU time, so the parent measures the server alone.
// Every variant serves bench.v1.Bench/Echo with the same handler; only the guard differs:
// - unguarded: no guard, Nest's plain gRPC options (what an app without this library runs);
// - allow-guard: Nest's plain gRPC options and a guard that lets everything through; its client
//              sends a session id as for guarded: what Nest's guard machinery costs by itself,
//              the most any guard can reach;
// - guarded:   SessionGuard in session-id mode, started with meshGrpcOptions();
// - carried:   as guarded; its client also sends a signed call's x-mesh-signature entry, which
//              nothing reads;
// - hmac-floor: as carried, plus one SHA-256 of the message bytes and one HMAC-SHA256 over a
//              signature base built from that entry (what no signature check can skip): the
//              most signature mode can reach here;
// - verify-floor: as carried, plus every step of a signature check done the plainest way
//              (bench/lib/verify-floor.mjs): one regular expression for the entry, the clock
//              check, the SHA-256 of the message bytes, one HMAC compared in constant time, the
//              nonce claimed in a Set;
// - signature: SessionGuard in signature mode, started with meshGrpcOptions(); its client
//              signs in one x-mesh-signature entry (the default);
// - signature-rfc9421: the same server; its client sends the three RFC 9421 entries.
import 'reflect-metadata';
import { hash, randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, URL } from 'node:url';
import { Controller, Injectable, Module, UseGuards } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { GrpcMethod, RpcException, Transport } from '@nestjs/microservices';
import { status } from '@grpc/grpc-js';
import { MeshSessionModule, SessionGuard, SessionManager } from '../../dist/index.js';
import { hmacFloor } from '../lib/hmac-floor.mjs';
import { CALL_ENTRY, verifyFloor } from '../lib/verify-floor.mjs';
import { meshGrpcOptions, messageBytesOf } from '../../dist/grpc.js';

export const BENCH_PROTO = fileURLToPath(new URL('./bench.proto', import.meta.url));

let served = 0;

/** A guard that lets everything through: what Nest's guard machinery costs by itself. */
class AllowGuard {
  canActivate() {
    return true;
  }
}
Injectable()(AllowGuard);

/**
 * The hmac-floor variant's guard: SessionGuard in session-id mode, plus the irreducible work of
 * signature mode: the SHA-256 of the message bytes, and one HMAC-SHA256 over a base holding the
 * method path, that digest and the received entry, compared in constant time (its answer
 * ignored). It parses nothing and claims no nonce. One guard, as in signature mode: Nest's own
 * cost of running a guard is paid once.
 */
class HmacFloorGuard extends SessionGuard {
  canActivate(context) {
    const rpc = context.switchToRpc();
    const entry = String(rpc.getContext().get('x-mesh-signature')[0]);
    const digest = hash('sha256', messageBytesOf(rpc.getData()), 'base64');
    hmacFloor(`"@path": /bench.v1.Bench/Echo\n"content-digest": ${digest}\n${entry}`);
    return super.canActivate(context);
  }
}
Injectable()(HmacFloorGuard);

/**
 * The verify-floor variant's guard: SessionGuard in session-id mode, plus every step a signature
 * check must take, each the plainest way (see bench/lib/verify-floor.mjs), in one guard. A
 * refusal is an UNAUTHENTICATED status, as signature mode's is.
 */
class VerifyFloorGuard extends SessionGuard {
  canActivate(context) {
    const rpc = context.switchToRpc();
    const entry = CALL_ENTRY.exec(rpc.getContext().get('x-mesh-signature')[0]);
    if (entry === null) throw unauthenticated('Malformed signature');
    const digest = hash('sha256', messageBytesOf(rpc.getData()), 'base64');
    const params = `("@path" "content-digest");created=${entry[2]};nonce="${entry[3]}";keyid="${entry[1]}";alg="hmac-sha256"`;
    const base = `"@path": /bench.v1.Bench/Echo\n"content-digest": sha-256=:${digest}:\n"@signature-params": ${params}`;
    const refused = verifyFloor(entry[2], entry[3], base, entry[4]);
    if (refused !== undefined) throw unauthenticated(refused);
    return super.canActivate(context);
  }
}
Injectable()(VerifyFloorGuard);

function unauthenticated(message) {
  return new RpcException({ code: status.UNAUTHENTICATED, message });
}

function benchController(guards) {
  class BenchController {
    echo() {
      served++;
      return { ok: true };
    }
  }
  const proto = BenchController.prototype;
  Reflect.decorate(
    [GrpcMethod('Bench', 'Echo')],
    proto,
    'echo',
    Object.getOwnPropertyDescriptor(proto, 'echo'),
  );
  if (guards.length > 0) UseGuards(...guards)(BenchController);
  Controller()(BenchController);
  return BenchController;
}

function benchModule(config) {
  const guards = {
    unguarded: [],
    'allow-guard': [AllowGuard],
    'hmac-floor': [HmacFloorGuard],
    'verify-floor': [VerifyFloorGuard],
  }[config.variant] ?? [SessionGuard];
  class BenchModule {}
  Module({
    imports: [
      MeshSessionModule.forRoot({
        serviceId: 'bench',
        cleanupInterval: false,
        requestSigning: config.variant.startsWith('signature'),
      }),
    ],
    controllers: [benchController(guards)],
    // A guard of the bench's own is a provider of this module; SessionGuard is the library's.
    providers: guards.filter((guard) => guard !== SessionGuard),
  })(BenchModule);
  return BenchModule;
}

async function serve(config) {
  const options = { package: 'bench.v1', protoPath: BENCH_PROTO, url: `127.0.0.1:${config.port}` };
  const transport =
    config.variant === 'unguarded' || config.variant === 'allow-guard'
      ? { transport: Transport.GRPC, options }
      : meshGrpcOptions(options);
  const app = await NestFactory.createMicroservice(benchModule(config), {
    ...transport,
    logger: ['error'],
  });
  await app.listen();
  const manager = app.get(SessionManager);
  // The store holds other sessions too, as a live service's would.
  for (let i = 0; i < config.fillerSessions; i++) {
    await manager.createSession(`filler-${i % 100}`, randomBytes(32));
  }
  const created = await manager.createSession('caller', Buffer.from(config.sessionKey, 'hex'));
  process.on('message', async (message) => {
    if (message?.mark) process.send({ served, cpu: process.cpuUsage(), at: performance.now() });
    if (message?.stop) {
      await app.close();
      process.exit(0);
    }
  });
  process.send({ sessionId: created.id });
}

process.once('message', (config) => {
  serve(config).catch((error) => {
    console.error(error);
    process.exit(1);
  });
});
