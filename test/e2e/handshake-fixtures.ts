import {
  Body,
  Controller,
  Get,
  HttpCode,
  Post,
  UseGuards,
  type INestApplication,
  type LoggerService,
  type ModuleMetadata,
} from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import {
  CurrentSession,
  generateIdentityKeyPair,
  MeshSessionModule,
  SessionGuard,
  type MeshSessionModuleOptions,
  type Session,
  type SessionStore,
} from '../../lib/index.js';
import { AuditRecorder } from '../support/audit-recorder.js';

/** Identity keys of the services in these tests, made once per test file. */
export const keys = {
  greeter: generateIdentityKeyPair(),
  caller: generateIdentityKeyPair(),
  callerNext: generateIdentityKeyPair(),
  stranger: generateIdentityKeyPair(),
};

/** The server's routes: guarded, in whichever mode the module runs. */
@Controller()
@UseGuards(SessionGuard)
export class GreeterController {
  @Post('greet')
  @HttpCode(200)
  greet(
    @CurrentSession() session: Session,
    @Body() body: { name?: unknown },
  ): { message: string; serviceId: string } {
    const name = typeof body?.name === 'string' ? body.name : 'World';
    return { message: `Hello, ${name}`, serviceId: session.serviceId };
  }

  @Get('whoami')
  whoami(@CurrentSession() session: Session): Session {
    // Returned as is on purpose: serialisation must not leak the key.
    return session;
  }

  @Post('echo')
  @HttpCode(200)
  echo(@Body() body: unknown): unknown {
    return body;
  }
}

/**
 * Every line any Nest logger writes, for leak checks and reason checks. An `Error` is kept as
 * `name: message` (JSON would write it as `{}`), other values as JSON.
 */
export class CapturingLogger implements LoggerService {
  readonly lines: string[] = [];

  private keep(level: string, message: unknown, rest: unknown[]): void {
    this.lines.push([level, message, ...rest].map(logPart).join(' '));
  }

  log(message: unknown, ...rest: unknown[]): void {
    this.keep('log', message, rest);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.keep('error', message, rest);
  }
  warn(message: unknown, ...rest: unknown[]): void {
    this.keep('warn', message, rest);
  }
  debug(message: unknown, ...rest: unknown[]): void {
    this.keep('debug', message, rest);
  }
  verbose(message: unknown, ...rest: unknown[]): void {
    this.keep('verbose', message, rest);
  }
  fatal(message: unknown, ...rest: unknown[]): void {
    this.keep('fatal', message, rest);
  }
}

function logPart(part: unknown): string {
  if (typeof part === 'string') return part;
  if (part instanceof Error) return `${part.name}: ${part.message}`;
  return JSON.stringify(part);
}

/** The two platforms, as factories of fresh adapters. */
export const platforms = [
  { name: 'express', create: () => new ExpressAdapter() },
  { name: 'fastify', create: () => new FastifyAdapter() },
] as const;
export type Platform = (typeof platforms)[number];

/** A started app, listening on loopback, with what it recorded. */
export interface RunningApp {
  app: INestApplication;
  url: string;
  audit: AuditRecorder;
  logger: CapturingLogger;
  close(): Promise<void>;
}

/**
 * Starts a Nest app on a real loopback port, with `rawBody: true` (signature mode needs it) and
 * a capturing logger at every level.
 */
export async function listen(
  metadata: ModuleMetadata,
  platform: Platform,
  logger = new CapturingLogger(),
): Promise<Omit<RunningApp, 'audit'>> {
  const moduleRef = await Test.createTestingModule(metadata).compile();
  const app = moduleRef.createNestApplication(platform.create(), { rawBody: true, logger });
  await app.listen(0, '127.0.0.1');
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  return { app, url, logger, close: () => app.close() };
}

/**
 * Starts the "greeter" server: the handshake at /mesh/handshake, signature mode, and
 * {@link GreeterController}.
 */
export async function startGreeter(
  platform: Platform,
  options: Partial<MeshSessionModuleOptions> & { store?: SessionStore } = {},
  extraControllers: NonNullable<ModuleMetadata['controllers']> = [],
): Promise<RunningApp> {
  const audit = new AuditRecorder();
  const running = await listen(
    {
      imports: [
        MeshSessionModule.forRoot({
          serviceId: 'greeter',
          cleanupInterval: false,
          monitoring: { adapters: [audit] },
          ...options,
          handshake: {
            privateKey: keys.greeter.privateKey,
            trustedServices: { caller: [keys.caller.publicKey, keys.callerNext.publicKey] },
            ...options.handshake,
          },
        }),
      ],
      controllers: [GreeterController, ...extraControllers],
    },
    platform,
  );
  return { ...running, audit };
}
