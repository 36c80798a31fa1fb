import 'reflect-metadata';
import type { INestApplication, LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { meshGrpcOptions } from 'nestjs-mesh-session/grpc';
import { AppModule } from './app.module.js';
import { CallerModule } from './caller.module.js';
import { GREETER_PROTO } from './greeting.js';
import { startSampleTelemetry } from './telemetry.js';

/** The two running sample services. */
export interface RunningSample {
  greeter: INestApplication;
  caller: INestApplication;
  greeterUrl: string;
  /** The greeter's gRPC address, such as `127.0.0.1:50051`. */
  greeterGrpcAddress: string;
  callerUrl: string;
  /** Stops the caller first (it ends its session on the greeter), then the greeter. */
  close(): Promise<void>;
}

/**
 * Starts the greeter (the server, on HTTP and gRPC) and the caller (its client), each on its own
 * port, after registering the OpenTelemetry MeterProvider whose metrics the greeter serves at
 * `/metrics`. Both run in this process, so one scrape shows the server's and the client's
 * metrics.
 *
 * @param options ports (0 picks a free one for HTTP), the greeter's gRPC port, the greeter's URL
 *   as the caller should use it, and log levels (`false` for none)
 */
export async function startSample(
  options: {
    greeterPort?: number;
    callerPort?: number;
    greeterGrpcPort?: number;
    greeterUrl?: string;
    logger?: LogLevel[] | false;
  } = {},
): Promise<RunningSample> {
  const logger = options.logger ?? ['log', 'warn', 'error'];
  // Metrics first: the apps' modules take the global MeterProvider when they start.
  const telemetry = startSampleTelemetry();
  // rawBody: signature mode checks the Content-Digest of every body against its exact bytes.
  const greeter = await NestFactory.create(AppModule, { rawBody: true, logger });
  // The same app serves gRPC: meshGrpcOptions() adds the handshake service and keeps each
  // message's bytes, which signed calls cover.
  const greeterGrpcAddress = `127.0.0.1:${options.greeterGrpcPort ?? 50051}`;
  greeter.connectMicroservice(
    meshGrpcOptions({ package: 'greeter.v1', protoPath: GREETER_PROTO, url: greeterGrpcAddress }),
    { inheritAppConfig: true },
  );
  await greeter.startAllMicroservices();
  await greeter.listen(options.greeterPort ?? 3000);
  const greeterPort = (greeter.getHttpServer().address() as { port: number }).port;
  const greeterUrl = options.greeterUrl ?? `http://127.0.0.1:${greeterPort}`;

  const caller = await NestFactory.create(CallerModule.forRoot(greeterUrl, greeterGrpcAddress), {
    logger,
  });
  await caller.listen(options.callerPort ?? 3001);
  const callerPort = (caller.getHttpServer().address() as { port: number }).port;

  return {
    greeter,
    caller,
    greeterUrl,
    greeterGrpcAddress,
    callerUrl: `http://127.0.0.1:${callerPort}`,
    close: async () => {
      await caller.close();
      await greeter.close();
      await telemetry.shutdown();
    },
  };
}
