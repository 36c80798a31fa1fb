import { setTimeout as sleep } from 'node:timers/promises';
import { inspect } from 'node:util';
import { jest } from '@jest/globals';
import { Controller, UseGuards } from '@nestjs/common';
import {
  ClientsModule,
  GrpcMethod,
  Payload,
  Transport,
  type ClientGrpc,
} from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { status } from '@grpc/grpc-js';
import { lastValueFrom, type Observable } from 'rxjs';
import {
  CurrentSession,
  MeshClient,
  MeshClientModule,
  MeshHandshakeError,
  SessionGuard,
  SessionManager,
  type MeshClientModuleOptions,
  type Session,
  type SessionStore,
} from '../../lib/index.js';
import { MeshGrpcCallError } from '../../lib/client/mesh-client.errors.js';
import { meshGrpcInterceptor } from '../../lib/grpc/mesh-grpc.interceptor.js';
import { keyEncodings } from '../support/audit-recorder.js';
import { storeFactories, teardownStoreFactories } from '../support/store-factories.js';
import { failStoreCalls } from '../support/store-faults.js';
import { GREETER_PROTO_PATH, startGrpcApp, type GrpcApp } from '../support/grpc/grpc-app.js';
import { keys } from './handshake-fixtures.js';

/*
 * MeshClient over real gRPC on loopback, against a Nest app serving the handshake
 * (MeshSessionGrpcModule, meshGrpcOptions) and greeter.v1.Greeter behind SessionGuard in
 * signature mode; and Nest's own ClientGrpc stubs signed by meshGrpcInterceptor().
 */

@Controller()
@UseGuards(SessionGuard)
class GreeterController {
  @GrpcMethod('Greeter', 'Greet')
  async greet(
    @Payload() data: { name?: string },
    @CurrentSession() session: Session,
  ): Promise<{ message: string }> {
    if (data.name === 'slow') await sleep(500);
    return { message: `Hello, ${data.name ?? ''} from ${session.serviceId}` };
  }

  @GrpcMethod('Greeter', 'Whoami')
  whoami(@CurrentSession() session: Session): { serviceId: string; sessionId: string } {
    return { serviceId: session.serviceId, sessionId: session.id };
  }
}

interface GreeterStub {
  greet(message: { name: string }): Observable<{ message: string }>;
  whoami(message: object): Observable<{ serviceId: string; sessionId: string }>;
}

const handshake = (rateLimit?: { maxRequests: number; windowMs: number }) => ({
  privateKey: keys.greeter.privateKey,
  trustedServices: { caller: [keys.caller.publicKey] },
  ...(rateLimit === undefined ? {} : { rateLimit }),
});

function grpcClientOptions(
  address: string,
  overrides: Partial<MeshClientModuleOptions> = {},
): MeshClientModuleOptions {
  return {
    serviceId: 'caller',
    privateKey: keys.caller.privateKey,
    services: {
      greeter: {
        grpc: { address, protoPath: GREETER_PROTO_PATH, service: 'greeter.v1.Greeter' },
        publicKey: keys.greeter.publicKey,
      },
    },
    timeout: 5_000,
    ...overrides,
  };
}

/** A caller app whose `ClientGrpc` stubs are signed with its `MeshClient`'s sessions. */
async function startCaller(url: string, options: MeshClientModuleOptions) {
  const moduleRef = await Test.createTestingModule({
    imports: [
      MeshClientModule.forRoot({ ...options, isGlobal: true }),
      ClientsModule.registerAsync([
        {
          name: 'GREETER',
          inject: [MeshClient],
          useFactory: (client: MeshClient) => ({
            transport: Transport.GRPC,
            options: {
              url,
              package: 'greeter.v1',
              protoPath: GREETER_PROTO_PATH,
              channelOptions: { interceptors: [meshGrpcInterceptor(client, 'greeter')] },
            },
          }),
        },
      ]),
    ],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.init();
  const stub = app.get<ClientGrpc>('GREETER').getService<GreeterStub>('Greeter');
  return { app, client: app.get(MeshClient), stub };
}

const stores = storeFactories.filter(({ name }) => name === 'memory' || name === 'redis');

afterAll(teardownStoreFactories);

describe.each(stores)('MeshClient over gRPC against a Nest greeter, $name store', (factory) => {
  let greeter: GrpcApp;
  let store: SessionStore;
  let manager: SessionManager;
  let client: MeshClient;

  beforeAll(async () => {
    store = await factory.create();
    greeter = await startGrpcApp({
      store,
      handshake: handshake(),
      controllers: [GreeterController],
    });
    manager = greeter.app.get(SessionManager);
  });

  afterAll(async () => {
    await greeter?.close();
  });

  beforeEach(() => {
    client = new MeshClient(grpcClientOptions(greeter.url));
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    await client.disconnectAll();
  });

  it('handshakes over gRPC and makes signed calls; the key shows nowhere', async () => {
    const connection = client.connect('greeter');
    await expect(connection.call('Greet', { name: 'World' })).resolves.toEqual({
      message: 'Hello, World from caller',
    });
    const whoami = await connection.call('Whoami', {});
    expect(whoami).toEqual({ serviceId: 'caller', sessionId: connection.sessionId });
    const session = (await manager.getSession(connection.sessionId as string)) as Session;
    expect(session.metadata).toMatchObject({
      clientVersion: expect.stringMatching(/^nestjs-mesh-session\//),
    });
    const haystack = [
      inspect(connection),
      JSON.stringify(connection),
      ...greeter.audit.events.map((event) => JSON.stringify(event)),
    ].join('\n');
    for (const encoding of keyEncodings(session.sessionKey)) {
      expect(haystack).not.toContain(encoding);
    }
  });

  it('makes exactly one handshake for ten concurrent first calls', async () => {
    const created = greeter.audit.actions().filter((a) => a === 'session_created').length;
    const connection = client.connect('greeter');
    const replies = await Promise.all(
      Array.from({ length: 10 }, (_, i) => connection.call('Greet', { name: `n${i}` })),
    );
    expect(replies).toEqual(
      Array.from({ length: 10 }, (_, i) => ({ message: `Hello, n${i} from caller` })),
    );
    const after = greeter.audit.actions().filter((a) => a === 'session_created').length;
    expect(after - created).toBe(1);
  });

  it('handshakes again, once, after the server forgets the session', async () => {
    const connection = client.connect('greeter');
    await connection.call('Greet', { name: 'first' });
    const first = connection.sessionId as string;
    expect(await manager.invalidateSession(first)).toBe(true);
    await expect(connection.call('Greet', { name: 'again' })).resolves.toEqual({
      message: 'Hello, again from caller',
    });
    expect(connection.sessionId).not.toBe(first);
    expect(await manager.getSession(connection.sessionId as string)).toBeDefined();
  });

  it('raises a timeout MeshGrpcCallError at the deadline', async () => {
    const quick = new MeshClient(grpcClientOptions(greeter.url, { timeout: 150 }));
    try {
      const connection = quick.connect('greeter');
      await connection.connect();
      const error = await connection.call('Greet', { name: 'slow' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MeshGrpcCallError);
      expect(error).toMatchObject({ reason: 'timeout', code: status.DEADLINE_EXCEEDED });
      expect((error as Error).message).toBe(
        '/greeter.v1.Greeter/Greet on greeter failed: no answer within 150 ms',
      );
    } finally {
      await quick.disconnectAll();
    }
  });

  it('raises refusals as typed errors with their gRPC status, without retrying them', async () => {
    const connection = client.connect('greeter');
    await connection.connect();
    const id = connection.sessionId as string;

    const restore = failStoreCalls(store, 'get', new Error('connection refused'));
    const unavailable = await connection.call('Greet', { name: 'x' }).catch((e: unknown) => e);
    restore();
    expect(unavailable).toBeInstanceOf(MeshGrpcCallError);
    expect(unavailable).toMatchObject({
      reason: 'grpc',
      code: status.UNAVAILABLE,
      details: 'Session store unavailable',
      metadata: { 'retry-after': '1' },
    });

    await manager.updateSessionMetadata(id, { revoked: true });
    const revoked = await connection.call('Greet', { name: 'x' }).catch((e: unknown) => e);
    expect(revoked).toMatchObject({
      name: 'MeshGrpcCallError',
      code: status.UNAUTHENTICATED,
      details: 'Session has been revoked',
      method: 'Greet',
      path: '/greeter.v1.Greeter/Greet',
    });
    expect(connection.sessionId).toBe(id);
  });

  it('raises a refused or unverifiable handshake as a MeshHandshakeError', async () => {
    const stranger = new MeshClient({
      ...grpcClientOptions(greeter.url),
      serviceId: 'stranger',
      privateKey: keys.stranger.privateKey,
    });
    const refused = await stranger
      .connect('greeter')
      .call('Greet', {})
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(MeshHandshakeError);
    expect(refused).toMatchObject({
      reason: 'rejected',
      code: status.UNAUTHENTICATED,
      message: 'Handshake with greeter failed: UNAUTHENTICATED: Handshake failed',
    });

    const options = grpcClientOptions(greeter.url);
    const pinned = new MeshClient({
      ...options,
      services: {
        greeter: { ...options.services.greeter, publicKey: keys.stranger.publicKey },
      },
    });
    await expect(pinned.connect('greeter').connect()).rejects.toMatchObject({
      name: 'MeshHandshakeError',
      reason: 'invalid_reply',
    });
    await Promise.all([stranger.disconnectAll(), pinned.disconnectAll()]);
  });

  it('disconnect() ends the session on the server with a signed Close', async () => {
    const connection = client.connect('greeter');
    await connection.connect();
    const id = connection.sessionId as string;
    expect(await manager.getSession(id)).toBeDefined();
    expect(await client.disconnect('greeter')).toBe(true);
    expect(await manager.getSession(id)).toBeUndefined();
    expect(connection.sessionId).toBeUndefined();
    expect(await client.disconnect('greeter')).toBe(false);
  });

  it("signs Nest's ClientGrpc calls through meshGrpcInterceptor, and ends at shutdown", async () => {
    const caller = await startCaller(greeter.url, grpcClientOptions(greeter.url));
    const connection = caller.client.connect('greeter');
    let last: string | undefined;
    try {
      const replies = await Promise.all(
        ['a', 'b', 'c'].map((name) => lastValueFrom(caller.stub.greet({ name }))),
      );
      expect(replies.map((r) => r.message)).toEqual(
        ['a', 'b', 'c'].map((n) => `Hello, ${n} from caller`),
      );
      const whoami = await lastValueFrom(caller.stub.whoami({}));
      expect(whoami).toEqual({ serviceId: 'caller', sessionId: connection.sessionId });

      // The server forgets the session: the unary call is retried once after a new handshake.
      await manager.invalidateSession(whoami.sessionId);
      await expect(lastValueFrom(caller.stub.greet({ name: 'again' }))).resolves.toEqual({
        message: 'Hello, again from caller',
      });
      last = connection.sessionId;
      expect(last).not.toBe(whoami.sessionId);
      expect(await manager.getSession(last as string)).toBeDefined();
    } finally {
      await caller.app.close();
    }
    // MeshClient ended its session when the caller shut down.
    expect(await manager.getSession(last as string)).toBeUndefined();
  });

  it('signs ClientGrpc calls with a session opened over HTTP', async () => {
    const caller = await startCaller(greeter.url, {
      ...grpcClientOptions(greeter.url),
      services: { greeter: { url: greeter.httpUrl, publicKey: keys.greeter.publicKey } },
    });
    try {
      const whoami = await lastValueFrom(caller.stub.whoami({}));
      expect(whoami.sessionId).toBe(caller.client.connect('greeter').sessionId);
    } finally {
      await caller.app.close();
    }
  });
});

describe('MeshClient over gRPC against a rate-limited greeter', () => {
  let greeter: GrpcApp;

  beforeAll(async () => {
    greeter = await startGrpcApp({
      handshake: handshake({ maxRequests: 1, windowMs: 60_000 }),
      rateLimit: { maxRequests: 2, windowMs: 60_000 },
      controllers: [GreeterController],
    });
  });

  afterAll(async () => {
    await greeter?.close();
  });

  it('raises RESOURCE_EXHAUSTED with retry-after, for calls and for handshakes', async () => {
    const client = new MeshClient(grpcClientOptions(greeter.url));
    const other = new MeshClient(grpcClientOptions(greeter.url));
    try {
      const connection = client.connect('greeter');
      await connection.call('Greet', { name: '1' });
      await connection.call('Greet', { name: '2' });
      const limited = await connection.call('Greet', { name: '3' }).catch((e: unknown) => e);
      expect(limited).toBeInstanceOf(MeshGrpcCallError);
      expect(limited).toMatchObject({ code: status.RESOURCE_EXHAUSTED, reason: 'grpc' });
      expect(Number((limited as MeshGrpcCallError).metadata['retry-after'])).toBeGreaterThan(0);

      const refused = await other
        .connect('greeter')
        .connect()
        .catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(MeshHandshakeError);
      expect(refused).toMatchObject({
        reason: 'rate_limited',
        code: status.RESOURCE_EXHAUSTED,
      });
    } finally {
      await Promise.all([client.disconnectAll(), other.disconnectAll()]);
    }
  });
});
