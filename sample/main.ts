import { Logger } from '@nestjs/common';
import { startSample } from './sample.js';

async function bootstrap(): Promise<void> {
  const greeterPort = Number(process.env.PORT ?? 3000);
  const callerPort = Number(process.env.CALLER_PORT ?? greeterPort + 1);
  const greeterGrpcPort = Number(process.env.GRPC_PORT ?? 50051);
  const sample = await startSample({
    greeterPort,
    callerPort,
    greeterGrpcPort,
    greeterUrl: process.env.GREETER_URL,
  });
  const logger = new Logger('Sample');
  logger.log(
    `greeter listening on http://localhost:${greeterPort} and gRPC ${sample.greeterGrpcAddress}`,
  );
  logger.log(
    `caller listening on http://localhost:${callerPort}: try /hello?name=World and /hello/grpc?name=World`,
  );
  logger.log(`metrics (Prometheus text format) on http://localhost:${greeterPort}/metrics`);
  // The caller stops first, so that it can end its session on the greeter; then the greeter
  // runs its module shutdown (job stopped, final cleanup, store closed).
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      void sample.close().then(() => process.exit(0));
    });
  }
}

void bootstrap();
