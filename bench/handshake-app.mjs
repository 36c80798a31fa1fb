// The app the handshake and signing benchmarks drive, in a child process of their own so that
// the client's work and the server's work do not share one event loop.
//
// The parent forks this file and sends { platform, greeterPrivateKey, callerPublicKey,
// sessionKey } over IPC (never on a command line, in the environment or in a log); the child
// starts the app on a free loopback port, creates one session with `sessionKey`, and answers
// { port, sessionId }.
//
// Routes, all on one app and one memory store:
//   POST /mesh/handshake      the handshake endpoint the module mounts (rate limit off)
//   GET|POST /id/echo         SessionGuard in session-id mode (x-mesh-session-id)
//   GET|POST /signed/echo     SessionGuard in signature mode (RFC 9421, hmac-sha256)
import 'reflect-metadata';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Controller, Get, HttpCode, Module, Post, UseGuards } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { MeshSessionModule, SessionGuard, SessionManager } from '../dist/index.js';

/**
 * SessionGuard in signature mode, beside the module's guard in session-id mode: same manager,
 * store, limiter and verifier. Nest builds guards from their class, so the mode is set here.
 */
export class SignedGuard extends SessionGuard {
  constructor(...args) {
    super(...args);
    this.options = { ...this.options, requestSigning: true };
  }
}

// Plain JavaScript has no decorators: apply them as functions.
function guardedController(path, guard) {
  class EchoController {
    get() {
      return { ok: true };
    }
    post() {
      return { ok: true };
    }
  }
  const proto = EchoController.prototype;
  Reflect.decorate([Get('echo')], proto, 'get', Object.getOwnPropertyDescriptor(proto, 'get'));
  Reflect.decorate(
    [Post('echo'), HttpCode(200)],
    proto,
    'post',
    Object.getOwnPropertyDescriptor(proto, 'post'),
  );
  UseGuards(guard)(EchoController);
  Controller(path)(EchoController);
  return EchoController;
}

/**
 * The benchmark module: handshake on, session-id mode for the module guard.
 *
 * @param {{ greeterPrivateKey: string, callerPublicKey: string }} keys
 */
export function benchModule(keys) {
  class BenchModule {}
  Module({
    imports: [
      MeshSessionModule.forRoot({
        serviceId: 'greeter',
        cleanupInterval: false,
        requestSigning: false,
        handshake: {
          privateKey: keys.greeterPrivateKey,
          trustedServices: { caller: keys.callerPublicKey },
          rateLimit: false,
        },
      }),
    ],
    controllers: [guardedController('id', SessionGuard), guardedController('signed', SignedGuard)],
    providers: [SignedGuard],
  })(BenchModule);
  return BenchModule;
}

/**
 * Forks the bench server.
 *
 * @returns {Promise<{ port: number, sessionId: string, close(): Promise<void> }>}
 */
export function spawnBenchServer(config) {
  const child = fork(fileURLToPath(import.meta.url), ['--serve'], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`bench server exited with ${code}`)));
    child.once('message', (message) =>
      resolve({
        ...message,
        close: () =>
          new Promise((done) => {
            child.removeAllListeners('exit');
            child.once('exit', () => done());
            child.send({ stop: true });
          }),
      }),
    );
    child.send({ ...config, sessionKey: config.sessionKey.toString('hex') });
  });
}

async function serve(config) {
  const app = await NestFactory.create(
    benchModule(config),
    config.platform === 'express' ? new ExpressAdapter() : new FastifyAdapter(),
    { logger: ['error'], rawBody: true },
  );
  await app.listen(0, '127.0.0.1');
  const session = await app
    .get(SessionManager)
    .createSession('caller', Buffer.from(config.sessionKey, 'hex'));
  process.on('message', async (message) => {
    if (message?.stop) {
      await app.close();
      process.exit(0);
    }
  });
  process.send({ port: app.getHttpServer().address().port, sessionId: session.id });
}

if (process.argv.includes('--serve')) {
  process.once('message', (config) => void serve(config));
}
