import { randomBytes } from 'node:crypto';
import { jest } from '@jest/globals';
import { Controller, Get, Injectable, Module, UseGuards } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import {
  MESH_SESSION_OPTIONS,
  MemorySessionStore,
  MeshSessionModule,
  SessionGuard,
  SessionManager,
  SessionStore,
  type MeshSessionModuleOptions,
  type ResolvedMeshSessionOptions,
} from '../../lib/index.js';

const CONFIG = Symbol('CONFIG');

@Module({ providers: [{ provide: CONFIG, useValue: { ttl: 120_000 } }], exports: [CONFIG] })
class ConfigModule {}

@Injectable()
class OptionsFactory {
  create(): MeshSessionModuleOptions {
    return { sessionTimeout: 240_000, cleanupInterval: false };
  }
}

@Module({ providers: [OptionsFactory], exports: [OptionsFactory] })
class OptionsFactoryModule {}

@Controller()
class FeatureController {
  @UseGuards(SessionGuard)
  @Get('feature')
  feature(): { ok: true } {
    return { ok: true };
  }
}

@Module({ controllers: [FeatureController] })
class FeatureModule {}

/** The idle timeout a manager gives a new session. */
async function timeoutOf(manager: SessionManager): Promise<number> {
  const session = await manager.createSession('probe', randomBytes(32));
  return session.expiresAt - session.createdAt;
}

describe('MeshSessionModule', () => {
  it('works with no options at all, on a memory store', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [MeshSessionModule.forRoot()],
    }).compile();
    expect(moduleRef.get(SessionStore)).toBeInstanceOf(MemorySessionStore);
    expect(moduleRef.get<ResolvedMeshSessionOptions>(MESH_SESSION_OPTIONS).sessionTimeout).toBe(
      3_600_000,
    );
    await moduleRef.close();
  });

  it('uses the given store and exposes it under the SessionStore token', async () => {
    const store = new MemorySessionStore();
    const moduleRef = await Test.createTestingModule({
      imports: [MeshSessionModule.forRoot({ store, cleanupInterval: false })],
    }).compile();
    expect(moduleRef.get(SessionStore)).toBe(store);
    const session = await moduleRef.get(SessionManager).createSession('svc', randomBytes(32));
    expect(await store.get(session.id, Date.now())).toBe(session);
    await moduleRef.close();
  });

  it('forRootAsync with useFactory and inject', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        MeshSessionModule.forRootAsync({
          imports: [ConfigModule],
          inject: [CONFIG],
          useFactory: (config: { ttl: number }) => ({
            sessionTimeout: config.ttl,
            cleanupInterval: false as const,
          }),
        }),
      ],
    }).compile();
    expect(await timeoutOf(moduleRef.get(SessionManager))).toBe(120_000);
    await moduleRef.close();
  });

  it('forRootAsync with useClass and with useExisting', async () => {
    const withClass = await Test.createTestingModule({
      imports: [MeshSessionModule.forRootAsync({ useClass: OptionsFactory })],
    }).compile();
    expect(await timeoutOf(withClass.get(SessionManager))).toBe(240_000);
    await withClass.close();

    const withExisting = await Test.createTestingModule({
      imports: [
        MeshSessionModule.forRootAsync({
          imports: [OptionsFactoryModule],
          useExisting: OptionsFactory,
        }),
      ],
    }).compile();
    expect(await timeoutOf(withExisting.get(SessionManager))).toBe(240_000);
    await withExisting.close();
  });

  it('isGlobal lets a feature module use SessionGuard without importing the module', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        MeshSessionModule.forRoot({ isGlobal: true, cleanupInterval: false }),
        FeatureModule,
      ],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    const session = await app.get(SessionManager).createSession('svc', randomBytes(32));
    const res = await request(app.getHttpServer())
      .get('/feature')
      .set('x-mesh-session-id', session.id);
    expect(res.status).toBe(200);
    expect((await request(app.getHttpServer()).get('/feature')).status).toBe(401);
    await app.close();
  });

  it('fails startup on an unknown option, naming the closest known one', async () => {
    await expect(
      Test.createTestingModule({
        imports: [MeshSessionModule.forRoot({ sessionTimout: 1_000 } as MeshSessionModuleOptions)],
      }).compile(),
    ).rejects.toThrow(
      'MeshSessionModule: unknown option "sessionTimout"; did you mean "sessionTimeout"?',
    );
    await expect(
      Test.createTestingModule({
        imports: [
          MeshSessionModule.forRootAsync({
            useFactory: () => ({ health: { maxActiveSesions: 5 } }) as MeshSessionModuleOptions,
          }),
        ],
      }).compile(),
    ).rejects.toThrow(
      'MeshSessionModule: unknown option "health.maxActiveSesions"; did you mean "health.maxActiveSessions"?',
    );
  });

  it('shuts down cleanly when a test replaces SessionManager with a partial fake', async () => {
    const store = new MemorySessionStore();
    const close = jest.spyOn(store, 'close');
    const moduleRef = await Test.createTestingModule({
      imports: [MeshSessionModule.forRoot({ store, cleanupInterval: false })],
    })
      .overrideProvider(SessionManager)
      .useValue({ getSession: () => Promise.resolve(undefined) })
      .compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    await expect(app.close()).resolves.toBeUndefined();
    expect(close).toHaveBeenCalledTimes(1);
  });
});
