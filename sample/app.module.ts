import { randomBytes } from 'node:crypto';
import { Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { TerminusModule } from '@nestjs/terminus';
import { LoggerMonitoringAdapter, MeshSessionModule, SESSION_TIMEOUTS } from 'nestjs-mesh-session';
import { MeshSessionGrpcModule } from 'nestjs-mesh-session/grpc';
import { SessionHealthIndicator } from 'nestjs-mesh-session/health';
import { RedisSessionStore } from 'nestjs-mesh-session/redis';
import { GreetController } from './greet.controller.js';
import { GreeterGrpcController } from './greeter-grpc.controller.js';
import { HealthController } from './health.controller.js';
import { METRICS_EXPORTER, MetricsController } from './metrics.controller.js';
import { sampleIdentities } from './sample-identities.js';
import { sampleMetricsExporter } from './telemetry.js';

/**
 * The sample "greeter" service: `/health`, `/metrics` (Prometheus), and `greet` over HTTP and
 * gRPC, guarded in signature mode. Sessions come from the handshake, at `/mesh/handshake` over
 * HTTP and `mesh_session.v1.MeshHandshake/Open` over gRPC, which only the pinned "caller" can
 * open. Its metrics go to the MeterProvider registered before the app (see telemetry.ts).
 */
@Module({
  imports: [
    ScheduleModule.forRoot(),
    TerminusModule,
    MeshSessionModule.forRoot({
      isGlobal: true,
      serviceId: 'greeter',
      sessionTimeout: SESSION_TIMEOUTS.realtime,
      maxSessionLifetime: SESSION_TIMEOUTS.standard,
      cleanupInterval: 60_000,
      rateLimit: { maxRequests: 100, windowMs: 60_000 },
      monitoring: { adapters: [new LoggerMonitoringAdapter()] },
      store: sampleStore(),
      // Signature mode follows: every request must be signed with its session's key.
      handshake: {
        privateKey: sampleIdentities.greeter.privateKey,
        trustedServices: { caller: sampleIdentities.caller.publicKey },
      },
    }),
    // Serves the handshake over gRPC as well.
    MeshSessionGrpcModule,
  ],
  controllers: [GreetController, GreeterGrpcController, HealthController, MetricsController],
  providers: [
    SessionHealthIndicator,
    { provide: METRICS_EXPORTER, useFactory: sampleMetricsExporter },
  ],
})
export class AppModule {}

/**
 * Redis when `REDIS_URL` is set, so that every instance shares the sessions; memory otherwise.
 * Session keys are sealed in Redis with `MESH_STORE_KEY` (32 bytes, base64: `openssl rand
 * -base64 32`), which every instance must share. Without it the sample makes a random key at
 * start, which suits a single instance: after a restart, older sessions read as absent.
 */
function sampleStore(): RedisSessionStore | undefined {
  const url = process.env.REDIS_URL;
  if (url === undefined || url === '') return undefined;
  const key = process.env.MESH_STORE_KEY;
  return new RedisSessionStore({
    url,
    encryptionKeys: [key ? Buffer.from(key, 'base64') : randomBytes(32)],
  });
}
