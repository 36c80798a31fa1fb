import { Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { TerminusModule } from '@nestjs/terminus';
import { LoggerMonitoringAdapter, MeshSessionModule, SESSION_TIMEOUTS } from 'nestjs-mesh-session';
import { DemoSessionsController } from './demo-sessions.controller.js';
import { GreetController } from './greet.controller.js';
import { HealthController } from './health.controller.js';

/**
 * The sample "greeter" service: a guarded `greet` route, `/health`, and a demo stand-in for
 * the handshake that creates sessions.
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
    }),
  ],
  controllers: [GreetController, HealthController, DemoSessionsController],
})
export class AppModule {}
