import 'reflect-metadata';
import type { INestApplication, LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';
import { CallerModule } from './caller.module.js';

/** The two running sample services. */
export interface RunningSample {
  greeter: INestApplication;
  caller: INestApplication;
  greeterUrl: string;
  callerUrl: string;
  /** Stops the caller first (it ends its session on the greeter), then the greeter. */
  close(): Promise<void>;
}

/**
 * Starts the greeter (the server) and the caller (its client), each on its own port.
 *
 * @param options ports (0 picks a free one), the greeter's URL as the caller should use it, and
 *   log levels (`false` for none)
 */
export async function startSample(
  options: {
    greeterPort?: number;
    callerPort?: number;
    greeterUrl?: string;
    logger?: LogLevel[] | false;
  } = {},
): Promise<RunningSample> {
  const logger = options.logger ?? ['log', 'warn', 'error'];
  // rawBody: signature mode checks the Content-Digest of every body against its exact bytes.
  const greeter = await NestFactory.create(AppModule, { rawBody: true, logger });
  await greeter.listen(options.greeterPort ?? 3000);
  const greeterPort = (greeter.getHttpServer().address() as { port: number }).port;
  const greeterUrl = options.greeterUrl ?? `http://127.0.0.1:${greeterPort}`;

  const caller = await NestFactory.create(CallerModule.forRoot(greeterUrl), { logger });
  await caller.listen(options.callerPort ?? 3001);
  const callerPort = (caller.getHttpServer().address() as { port: number }).port;

  return {
    greeter,
    caller,
    greeterUrl,
    callerUrl: `http://127.0.0.1:${callerPort}`,
    close: async () => {
      await caller.close();
      await greeter.close();
    },
  };
}
