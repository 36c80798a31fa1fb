import { inspect } from 'node:util';
import { jest } from '@jest/globals';
import {
  Body,
  Controller,
  Get,
  HttpCode,
  Logger,
  Module,
  Post,
  Query,
  UseGuards,
  type INestApplication,
} from '@nestjs/common';
import { Test, type TestingModuleBuilder } from '@nestjs/testing';
import request from 'supertest';
import {
  CurrentSession,
  MemorySessionStore,
  MeshSessionModule,
  SessionGuard,
  SessionManager,
  SessionStore,
  type MeshSessionModuleOptions,
  type Session,
} from 'nestjs-mesh-session';
import {
  MeshTestingPeer,
  overrideSessionStore,
  TestingMessages,
} from 'nestjs-mesh-session/testing';
import { httpAdapters } from '../support/http-app.js';

/*
 * The testing kit, used as an app's own e2e tests would use it: Test.createTestingModule, then
 * supertest or fetch, on Express and on Fastify, in session-id and in signature mode.
 */

@Controller()
@UseGuards(SessionGuard)
class OrdersController {
  @Get('whoami')
  whoami(@CurrentSession() session: Session): { serviceId: string; region?: unknown } {
    return { serviceId: session.serviceId, region: session.metadata?.region };
  }

  @Get('orders')
  list(@Query('status') status?: string): { status: string | null } {
    return { status: status ?? null };
  }

  @Post('orders')
  @HttpCode(201)
  create(
    @CurrentSession() session: Session,
    @Body() body: unknown,
  ): { order: unknown; by: string } {
    return { order: body, by: session.serviceId };
  }
}

/** The app under test: one guarded controller and the module, as an app would have them. */
function appModule(options: MeshSessionModuleOptions): new () => object {
  @Module({
    imports: [
      MeshSessionModule.forRoot({ serviceId: 'orders', cleanupInterval: false, ...options }),
    ],
    controllers: [OrdersController],
  })
  class AppModule {}
  return AppModule;
}

type Platform = (typeof httpAdapters)[number];

/** What an app's e2e test does: compile, override, create with rawBody, init. */
async function createApp(
  platform: Platform,
  options: MeshSessionModuleOptions,
  override: (builder: TestingModuleBuilder) => TestingModuleBuilder = (builder) => builder,
): Promise<INestApplication> {
  const moduleRef = await override(
    Test.createTestingModule({ imports: [appModule(options)] }),
  ).compile();
  const app = moduleRef.createNestApplication(platform.create(), { rawBody: true, logger: false });
  await app.init();
  if (platform.name === 'fastify') {
    await (app.getHttpAdapter().getInstance() as { ready(): Promise<unknown> }).ready();
  }
  return app;
}

describe.each(httpAdapters)('the testing kit on $name', (platform) => {
  let app: INestApplication | undefined;

  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  describe('session-id mode', () => {
    it('opens a session for a peer and authenticates a request with headers()', async () => {
      app = await createApp(platform, {});
      const billing = await MeshTestingPeer.open(app, 'billing', { metadata: { region: 'eu' } });
      expect(billing.headers()).toEqual({ 'x-mesh-session-id': billing.sessionId });

      const res = await request(app.getHttpServer()).get('/whoami').set(billing.headers());
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ serviceId: 'billing', region: 'eu' });
      expect((await request(app.getHttpServer()).get('/whoami')).status).toBe(401);
    });

    it("uses the app's sessionHeader option", async () => {
      app = await createApp(platform, { sessionHeader: 'X-Caller-Session' });
      const billing = await MeshTestingPeer.open(app, 'billing');
      expect(billing.headers()).toEqual({ 'x-caller-session': billing.sessionId });
      await request(app.getHttpServer()).get('/whoami').set(billing.headers()).expect(200);
    });

    it('opens a session from a SessionManager or a TestingModule too', async () => {
      const moduleRef = await Test.createTestingModule({ imports: [appModule({})] }).compile();
      app = moduleRef.createNestApplication(platform.create(), { logger: false });
      await app.init();
      if (platform.name === 'fastify') {
        await (app.getHttpAdapter().getInstance() as { ready(): Promise<unknown> }).ready();
      }
      const fromModule = await MeshTestingPeer.open(moduleRef, 'billing');
      const fromManager = await MeshTestingPeer.open(app.get(SessionManager), 'shipping');
      for (const [peer, serviceId] of [
        [fromModule, 'billing'],
        [fromManager, 'shipping'],
      ] as const) {
        const res = await request(app.getHttpServer()).get('/whoami').set(peer.headers());
        expect(res.body.serviceId).toBe(serviceId);
      }
    });

    it('ends the session with close()', async () => {
      app = await createApp(platform, {});
      const billing = await MeshTestingPeer.open(app, 'billing');
      expect(await billing.close()).toBe(true);
      const res = await request(app.getHttpServer()).get('/whoami').set(billing.headers());
      expect(res.status).toBe(401);
      expect(res.body.message).toBe('Session not found or expired');
      expect(await billing.close()).toBe(false);
    });

    it('swaps the store with overrideSessionStore, which overrides the SessionStore token', async () => {
      const store = new MemorySessionStore();
      const close = jest.spyOn(store, 'close');
      app = await createApp(platform, {}, (builder) => overrideSessionStore(builder, store));
      expect(app.get(SessionStore)).toBe(store);
      const billing = await MeshTestingPeer.open(app, 'billing');
      expect((await store.get(billing.sessionId, Date.now()))?.serviceId).toBe('billing');
      await request(app.getHttpServer()).get('/whoami').set(billing.headers()).expect(200);
      await app.close();
      app = undefined;
      expect(close).toHaveBeenCalledTimes(1);
    });

    it('shows why the token is SessionStore: overriding MemorySessionStore does nothing', async () => {
      const ignored = new MemorySessionStore();
      app = await createApp(platform, {}, (builder) =>
        builder.overrideProvider(MemorySessionStore).useValue(ignored),
      );
      await MeshTestingPeer.open(app, 'billing');
      expect(app.get(SessionStore)).not.toBe(ignored);
      expect(await ignored.count()).toBe(0);
      expect(await app.get(SessionStore).count()).toBe(1);
    });

    it('refuses what is not an app or a store, with a message saying what it expected', async () => {
      await expect(MeshTestingPeer.open({} as never, 'billing')).rejects.toThrow(
        TestingMessages.peerTargetNeeded({}),
      );
      const bare = await Test.createTestingModule({}).compile();
      await expect(MeshTestingPeer.open(bare, 'billing')).rejects.toThrow(
        TestingMessages.noSessionManager(),
      );
      expect(() => overrideSessionStore(Test.createTestingModule({}), new Map() as never)).toThrow(
        TestingMessages.storeNeeded(new Map()),
      );
    });

    it('keeps the session key out of dumps of the peer', async () => {
      app = await createApp(platform, {});
      const billing = await MeshTestingPeer.open(app, 'billing');
      expect(inspect(billing, { showHidden: true, depth: 5 })).toBe(
        "MeshTestingPeer { serviceId: 'billing' }",
      );
      expect(JSON.stringify(billing)).toBe('{"type":"MeshTestingPeer","serviceId":"billing"}');
    });
  });

  describe('signature mode', () => {
    const signing = { requestSigning: true };

    it('signs a supertest request with a JSON body in one call', async () => {
      app = await createApp(platform, signing);
      const billing = await MeshTestingPeer.open(app, 'billing');
      const res = await billing.sign(
        request(app.getHttpServer()).post('/orders').send({ item: 'book', qty: 2, note: 'wörld' }),
      );
      expect(res.status).toBe(201);
      expect(res.body).toEqual({ order: { item: 'book', qty: 2, note: 'wörld' }, by: 'billing' });
    });

    it('signs whatever comes after sign(): send(), query(), set()', async () => {
      app = await createApp(platform, signing);
      const billing = await MeshTestingPeer.open(app, 'billing');
      const server = app.getHttpServer();
      await billing
        .sign(request(server).post('/orders'))
        .set('content-type', 'application/json')
        .send('{"item":"pen"}')
        .expect(201, { order: { item: 'pen' }, by: 'billing' });
      await billing
        .sign(request(server).get('/orders'))
        .query({ status: 'open' })
        .expect(200, { status: 'open' });
      await billing
        .sign(request(server).post('/orders').type('json'))
        .send(Buffer.from('{"item":"ink"}'))
        .expect(201, { order: { item: 'ink' }, by: 'billing' });
      await billing.sign(request(server).get('/whoami')).expect(200);
    });

    it('covers the request for real: the session header alone, or a changed body, is refused', async () => {
      app = await createApp(platform, signing);
      const billing = await MeshTestingPeer.open(app, 'billing');
      const server = app.getHttpServer();
      const unsigned = await request(server).get('/whoami').set(billing.headers());
      expect(unsigned.status).toBe(401);
      expect(unsigned.body.message).toBe('Missing request signature');

      const headers = billing.signedHeaders({
        method: 'POST',
        url: `${await listeningUrl(app)}/orders`,
        body: '{"item":"book"}',
      });
      const tampered = await fetch(`${await listeningUrl(app)}/orders`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: '{"item":"gold"}',
      });
      expect(tampered.status).toBe(401);
    });

    it('refuses to sign a form object, which it could not send byte for byte', async () => {
      app = await createApp(platform, signing);
      const billing = await MeshTestingPeer.open(app, 'billing');
      await expect(
        billing.sign(request(app.getHttpServer()).post('/orders').type('form').send({ a: 1 })),
      ).rejects.toThrow(TestingMessages.unsignableTestBody('application/x-www-form-urlencoded'));
    });

    it('signs a fetch request with signFetch(), or sends it with fetch()', async () => {
      app = await createApp(platform, signing);
      const billing = await MeshTestingPeer.open(app, 'billing');
      const url = `${await listeningUrl(app)}/orders`;
      const init = billing.signFetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ item: 'lamp' }),
      });
      const created = await fetch(url, init);
      expect(created.status).toBe(201);
      expect(await created.json()).toEqual({ order: { item: 'lamp' }, by: 'billing' });
      // The same signature again is a replay.
      expect((await fetch(url, init)).status).toBe(401);

      const listed = await billing.fetch(`${url}?status=done`);
      expect(listed.status).toBe(200);
      expect(await listed.json()).toEqual({ status: 'done' });
      const bytes = await billing.fetch(url, {
        method: 'post',
        headers: { 'content-type': 'application/json' },
        body: new TextEncoder().encode('{"item":"cup"}'),
      });
      expect(bytes.status).toBe(201);
      expect(() =>
        billing.signFetch(url, { method: 'POST', body: new Blob(['{}']) as never }),
      ).toThrow(TypeError);
    });
  });

  it('closes cleanly when a test replaces SessionManager with a partial fake', async () => {
    const store = new MemorySessionStore();
    const close = jest.spyOn(store, 'close');
    const errors = jest.spyOn(Logger.prototype, 'error');
    app = await createApp(platform, { store, cleanupInterval: false }, (builder) =>
      builder
        .overrideProvider(SessionManager)
        .useValue({ validateSession: () => Promise.reject(new Error('not in this test')) }),
    );
    await expect(app.close()).resolves.toBeUndefined();
    app = undefined;
    expect(close).toHaveBeenCalledTimes(1);
    // No final cleanup reached into the fake: shutdown logged nothing.
    expect(errors).not.toHaveBeenCalled();
    errors.mockRestore();
  });
});

/** Listens on a free loopback port (once) and returns the app's base URL, for fetch. */
async function listeningUrl(app: INestApplication): Promise<string> {
  const server = app.getHttpServer() as { listening: boolean };
  if (!server.listening) await app.listen(0, '127.0.0.1');
  return (await app.getUrl()).replace('[::1]', '127.0.0.1');
}
