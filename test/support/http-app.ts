import type { INestApplication, ModuleMetadata } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';

/** The two HTTP platforms every e2e suite runs on. */
export const httpAdapters = [
  { name: 'express', create: () => new ExpressAdapter() },
  { name: 'fastify', create: () => new FastifyAdapter() },
] as const;

export type HttpAdapterName = (typeof httpAdapters)[number]['name'];

/**
 * Compiles a testing module and starts it on the given platform, ready for supertest on
 * `app.getHttpServer()`.
 */
export async function startHttpApp(
  metadata: ModuleMetadata,
  adapter: (typeof httpAdapters)[number],
  options: { rawBody?: boolean } = {},
): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule(metadata).compile();
  const app = moduleRef.createNestApplication(adapter.create(), { logger: false, ...options });
  await app.init();
  if (adapter.name === 'fastify') {
    await (app.getHttpAdapter().getInstance() as { ready(): Promise<unknown> }).ready();
  }
  return app;
}

/** Fakes only `Date`, so that sessions expire on demand while real HTTP keeps its timers. */
export function fakeDateOnly(
  jestApi: { useFakeTimers(config?: object): unknown },
  now: number,
): void {
  jestApi.useFakeTimers({
    now,
    doNotFake: [
      'hrtime',
      'nextTick',
      'performance',
      'queueMicrotask',
      'requestAnimationFrame',
      'cancelAnimationFrame',
      'requestIdleCallback',
      'cancelIdleCallback',
      'setImmediate',
      'clearImmediate',
      'setInterval',
      'clearInterval',
      'setTimeout',
      'clearTimeout',
    ],
  });
}
