import { randomBytes, randomUUID } from 'node:crypto';
import { jest } from '@jest/globals';
import { Controller, Get, UseGuards } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { GrpcMethod, GrpcStreamMethod, Payload } from '@nestjs/microservices';
import { Metadata, status, type Client } from '@grpc/grpc-js';
import { map, toArray, type Observable } from 'rxjs';
import {
  CurrentSession,
  SessionGuard,
  SessionManager,
  SkipSession,
  type Session,
  type SessionStore,
} from '../../lib/index.js';
import { fakeDateOnly } from '../support/http-app.js';
import { countTouches, failTouches, stallTouches } from '../support/store-faults.js';
import { storeFactories } from '../support/store-factories.js';
import {
  encodeGreetRequest as encode,
  expectRefusal,
  greeterReplyDecoder,
  greeterService as greeter,
  metadataOf,
  rawClientStreamCall,
  rawGreeterCall as rawCall,
  rawGrpcClient,
  startGrpcApp,
  type GreetRequest,
  type GrpcApp,
} from '../support/grpc/grpc-app.js';

/*
 * SessionGuard on gRPC handlers in session-id mode, over real gRPC on loopback: every row of
 * the guard's table, with the statuses, messages and trailers a gRPC client sees.
 */

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 0, 1);
const GREET = '/greeter.v1.Greeter/Greet';
const WHOAMI = '/greeter.v1.Greeter/Whoami';
const PUBLIC = '/greeter.v1.Greeter/Public';
const COLLECT = '/greeter.v1.Greeter/Collect';
const UNDECODABLE = Buffer.from([0xff, 0xff, 0xff]);

/** What the handlers received, in order. */
const received: unknown[] = [];

@Controller()
@UseGuards(SessionGuard)
class GreeterController {
  @GrpcMethod('Greeter', 'Greet')
  greet(@Payload() data: GreetRequest, @CurrentSession() session: Session): { message: string } {
    received.push(data);
    return { message: `Hello, ${data.name ?? ''} from ${session.serviceId}` };
  }

  @GrpcMethod('Greeter', 'Whoami')
  whoami(
    @Payload() _data: object,
    @CurrentSession() session: Session,
  ): { serviceId: string; sessionId: string } {
    return { serviceId: session.serviceId, sessionId: session.id };
  }

  @SkipSession()
  @GrpcMethod('Greeter', 'Public')
  public(
    @Payload() data: GreetRequest,
    @CurrentSession() session: Session | undefined,
  ): { message: string } {
    received.push(data);
    return { message: `Hello, ${data.name ?? ''}; session: ${session?.serviceId ?? 'none'}` };
  }

  @GrpcStreamMethod('Greeter', 'Collect')
  collect(
    @Payload() messages: Observable<GreetRequest>,
    @CurrentSession() session: Session,
  ): Observable<{ message: string }> {
    return messages.pipe(
      toArray(),
      map((all) => {
        received.push(...all);
        const names = all.map((message) => message.name ?? '').join(' and ') || 'nobody';
        return { message: `Hello, ${names} from ${session.serviceId}` };
      }),
    );
  }
}

const withSessionId = (id: string | undefined): Metadata => metadataOf({ 'x-mesh-session-id': id });

const stores = storeFactories.filter(({ name }) => name === 'memory' || name === 'redis');

describe.each(stores)('SessionGuard on gRPC handlers, session-id mode, $name store', (factory) => {
  let grpcApp: GrpcApp;
  let store: SessionStore;
  let manager: SessionManager;
  let client: Client;
  let n = 0;

  beforeAll(async () => {
    store = await factory.create();
    grpcApp = await startGrpcApp({
      store,
      controllers: [GreeterController],
      rateLimit: { maxRequests: 3, windowMs: 60_000 },
      module: { sessionTimeout: HOUR, storeTimeout: 50 },
    });
    manager = grpcApp.app.get(SessionManager);
    client = rawGrpcClient(grpcApp.url, 'greeter.v1.Greeter');
  });

  afterAll(async () => {
    client?.close();
    await grpcApp?.close();
    await factory.teardown?.();
  });

  beforeEach(() => {
    received.length = 0;
  });

  afterEach(() => {
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  /** A session of a service of its own, so every test has its own rate-limit budget. */
  const newSession = (serviceId = `svc-${++n}`): Promise<Session> =>
    manager.createSession(serviceId, randomBytes(32));

  const greet = (metadata: Metadata, bytes: Buffer = encode({ name: 'World' })) =>
    rawCall(client, GREET, bytes, metadata);

  it('runs the handler for a live session, which @CurrentSession() gives', async () => {
    const session = await newSession('caller-a');
    const outcome = await greet(withSessionId(session.id));
    expect(outcome.error).toBeUndefined();
    expect(outcome.reply).toEqual({ message: 'Hello, World from caller-a' });
    const whoami = await rawCall(client, WHOAMI, Buffer.alloc(0), withSessionId(session.id));
    expect(whoami.reply).toEqual({ serviceId: 'caller-a', sessionId: session.id });
  });

  it('slides the session on each call', async () => {
    fakeDateOnly(jest, T0);
    const session = await newSession();
    jest.setSystemTime(T0 + 10 * 60_000);
    expect((await greet(withSessionId(session.id))).reply).toBeDefined();
    const slid = await store.get(session.id, Date.now());
    expect(slid?.lastActivity).toBe(T0 + 10 * 60_000);
    expect(slid?.expiresAt).toBe(T0 + 10 * 60_000 + HOUR);
  });

  it('answers UNAUTHENTICATED Missing session id without the metadata entry', async () => {
    expectRefusal(await greet(new Metadata()), status.UNAUTHENTICATED, 'Missing session id');
    expect(received).toEqual([]);
  });

  it('answers UNAUTHENTICATED Invalid session id for a non-UUID, with no store lookup', async () => {
    const touches = countTouches(store);
    const live = await newSession();
    for (const bad of ['abc', `${live.id}x`, 'x'.repeat(36), "' OR 1=1 --", `{${live.id}}`]) {
      expectRefusal(await greet(withSessionId(bad)), status.UNAUTHENTICATED, 'Invalid session id');
    }
    expect(touches()).toBe(0);
    expect(received).toEqual([]);
  });

  it('answers UNAUTHENTICATED Session not found or expired for an unknown id', async () => {
    expectRefusal(
      await greet(withSessionId(randomUUID())),
      status.UNAUTHENTICATED,
      'Session not found or expired',
    );
  });

  it('answers UNAUTHENTICATED Session not found or expired once the session is invalidated', async () => {
    const session = await newSession();
    expect((await greet(withSessionId(session.id))).reply).toBeDefined();
    await manager.invalidateSession(session.id);
    expectRefusal(
      await greet(withSessionId(session.id)),
      status.UNAUTHENTICATED,
      'Session not found or expired',
    );
  });

  it('answers UNAUTHENTICATED Session not found or expired for an expired session', async () => {
    fakeDateOnly(jest, T0);
    const session = await newSession();
    jest.setSystemTime(T0 + HOUR + 1);
    expectRefusal(
      await greet(withSessionId(session.id)),
      status.UNAUTHENTICATED,
      'Session not found or expired',
    );
    expect(received).toEqual([]);
  });

  it('answers UNAUTHENTICATED Session has been revoked, then not found', async () => {
    const session = await newSession();
    await manager.updateSessionMetadata(session.id, { revoked: true });
    expectRefusal(
      await greet(withSessionId(session.id)),
      status.UNAUTHENTICATED,
      'Session has been revoked',
    );
    expectRefusal(
      await greet(withSessionId(session.id)),
      status.UNAUTHENTICATED,
      'Session not found or expired',
    );
  });

  it('answers RESOURCE_EXHAUSTED over the rate limit, with retry-after and ratelimit-* trailers', async () => {
    const a = await newSession('limited');
    const b = await newSession('limited');
    const other = await newSession();
    expect((await greet(withSessionId(a.id))).reply).toBeDefined();
    expect((await greet(withSessionId(b.id))).reply).toBeDefined();
    expect((await greet(withSessionId(a.id))).reply).toBeDefined();
    const error = expectRefusal(
      await greet(withSessionId(b.id)),
      status.RESOURCE_EXHAUSTED,
      'Rate limit exceeded',
    );
    const trailer = (key: string) => error.metadata.get(key);
    expect(trailer('retry-after')).toHaveLength(1);
    expect(Number(trailer('retry-after')[0])).toBeGreaterThanOrEqual(59);
    expect(trailer('ratelimit-limit')).toEqual(['3']);
    expect(trailer('ratelimit-remaining')).toEqual(['0']);
    expect(Number(trailer('ratelimit-reset')[0])).toBeGreaterThanOrEqual(59);
    expect(received).toHaveLength(3);
    // The budget is per service: another service still passes.
    expect((await greet(withSessionId(other.id))).reply).toBeDefined();
  });

  it('answers UNAVAILABLE with retry-after: 1 when the store throws', async () => {
    const session = await newSession();
    failTouches(store, new Error('connection refused'));
    const error = expectRefusal(
      await greet(withSessionId(session.id)),
      status.UNAVAILABLE,
      'Session store unavailable',
    );
    expect(error.metadata.get('retry-after')).toEqual(['1']);
    expect(received).toEqual([]);
  });

  it('answers UNAVAILABLE with retry-after: 1 when the store does not answer in time', async () => {
    const session = await newSession();
    stallTouches(store, manager);
    const started = Date.now();
    const error = expectRefusal(
      await greet(withSessionId(session.id)),
      status.UNAVAILABLE,
      'Session store unavailable',
    );
    expect(error.metadata.get('retry-after')).toEqual(['1']);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(received).toEqual([]);
  });

  it('refuses a session id sent twice in the metadata, even when both are the live id', async () => {
    const session = await newSession();
    const touches = countTouches(store);
    for (const second of [session.id, randomUUID()]) {
      const twice = new Metadata();
      twice.add('x-mesh-session-id', session.id);
      twice.add('x-mesh-session-id', second);
      // HTTP/2 joins the two values with ", ", which is no session id.
      expectRefusal(await greet(twice), status.UNAUTHENTICATED, 'Invalid session id');
    }
    expect(touches()).toBe(0);
    expect(received).toEqual([]);
  });

  it('reads an empty session id as missing', async () => {
    expectRefusal(await greet(withSessionId('')), status.UNAUTHENTICATED, 'Missing session id');
  });

  it('ignores a binary entry under another key, and a session id in the message', async () => {
    const session = await newSession();
    const metadata = new Metadata();
    metadata.set('x-mesh-session-id-bin', Buffer.from(session.id));
    expectRefusal(
      await greet(metadata, encode({ name: session.id, tags: [session.id] })),
      status.UNAUTHENTICATED,
      'Missing session id',
    );
  });

  it('lets a @SkipSession() handler through without a session; @CurrentSession() is empty', async () => {
    const outcome = await rawCall(client, PUBLIC, encode({ name: 'anyone' }));
    expect(outcome.error).toBeUndefined();
    expect(outcome.reply).toEqual({ message: 'Hello, anyone; session: none' });
    expect(received).toEqual([{ name: 'anyone' }]);
  });

  it('hands the handler the message untouched: same fields, nothing added', async () => {
    const session = await newSession();
    const message = { name: 'World', tags: ['a', 'b'], count: 7, blob: Buffer.from([0, 1, 2]) };
    const bytes = encode(message);
    expect((await greet(withSessionId(session.id), bytes)).reply).toBeDefined();
    expect(received).toHaveLength(1);
    const got = received[0] as Record<string | symbol, unknown>;
    expect(got).toEqual(greeter.Greet.requestDeserialize(bytes));
    expect(got).toEqual(message);
    expect(Reflect.ownKeys(got)).toEqual(['name', 'tags', 'count', 'blob']);
    expect(Object.isFrozen(got)).toBe(false);
    // An empty message stays an empty object.
    expect((await greet(withSessionId(session.id), Buffer.alloc(0))).reply).toBeDefined();
    expect(Reflect.ownKeys(received[1] as object)).toEqual([]);
  });

  describe('a client-streaming call (metadata only, no message to check)', () => {
    const collect = (metadata: Metadata, names: string[] = ['Ann', 'Bob']) =>
      rawClientStreamCall(
        client,
        COLLECT,
        names.map((name) => encode({ name })),
        metadata,
        { deserialize: greeterReplyDecoder(COLLECT) },
      );

    it('runs the handler on every message for a live session id', async () => {
      const session = await newSession('streamer');
      const outcome = await collect(withSessionId(session.id));
      expect(outcome.error).toBeUndefined();
      expect(outcome.reply).toEqual({ message: 'Hello, Ann and Bob from streamer' });
      expect(received).toEqual([{ name: 'Ann' }, { name: 'Bob' }]);
      // A stream with no message passes the same check.
      expect((await collect(withSessionId(session.id), [])).reply).toEqual({
        message: 'Hello, nobody from streamer',
      });
    });

    it('answers UNAUTHENTICATED Missing session id without one, Invalid session id for a bad one', async () => {
      expectRefusal(await collect(new Metadata()), status.UNAUTHENTICATED, 'Missing session id');
      expectRefusal(
        await collect(withSessionId('not-a-uuid')),
        status.UNAUTHENTICATED,
        'Invalid session id',
      );
      expectRefusal(
        await collect(withSessionId(randomUUID())),
        status.UNAUTHENTICATED,
        'Session not found or expired',
      );
      expect(received).toEqual([]);
    });
  });

  it('answers INVALID_ARGUMENT for a message that cannot be decoded', async () => {
    const session = await newSession();
    expectRefusal(
      await greet(withSessionId(session.id), UNDECODABLE),
      status.INVALID_ARGUMENT,
      'Request message cannot be decoded',
    );
    // Before any session check, and on a @SkipSession() handler too.
    expectRefusal(
      await greet(new Metadata(), UNDECODABLE),
      status.INVALID_ARGUMENT,
      'Request message cannot be decoded',
    );
    expectRefusal(
      await rawCall(client, PUBLIC, UNDECODABLE),
      status.INVALID_ARGUMENT,
      'Request message cannot be decoded',
    );
    expect(received).toEqual([]);
  });
});

@Controller('http')
class HttpController {
  @Get('whoami')
  whoami(@CurrentSession() session: Session): { serviceId: string } {
    return { serviceId: session.serviceId };
  }

  @SkipSession()
  @Get('public')
  public(): { ok: true } {
    return { ok: true };
  }
}

/** No guard of its own: the global one covers it. */
@Controller()
class GlobalGreeterController {
  @GrpcMethod('Greeter', 'Whoami')
  whoami(
    @Payload() _data: object,
    @CurrentSession() session: Session,
  ): { serviceId: string; sessionId: string } {
    return { serviceId: session.serviceId, sessionId: session.id };
  }

  @SkipSession()
  @GrpcMethod('Greeter', 'Public')
  public(@Payload() data: GreetRequest): { message: string } {
    return { message: `Hello, ${data.name ?? ''}` };
  }
}

describe.each(stores)('SessionGuard as APP_GUARD in a hybrid app, $name store', (factory) => {
  let grpcApp: GrpcApp;
  let manager: SessionManager;
  let client: Client;

  beforeAll(async () => {
    grpcApp = await startGrpcApp({
      store: await factory.create(),
      controllers: [HttpController, GlobalGreeterController],
      providers: [{ provide: APP_GUARD, useClass: SessionGuard }],
    });
    manager = grpcApp.app.get(SessionManager);
    client = rawGrpcClient(grpcApp.url, 'greeter.v1.Greeter');
  });

  afterAll(async () => {
    client?.close();
    await grpcApp?.close();
    await factory.teardown?.();
  });

  it('refuses both transports without a session: HTTP 401 and gRPC UNAUTHENTICATED', async () => {
    const res = await fetch(`${grpcApp.httpUrl}/http/whoami`);
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ message: 'Missing session id' });
    expectRefusal(
      await rawCall(client, WHOAMI, Buffer.alloc(0)),
      status.UNAUTHENTICATED,
      'Missing session id',
    );
  });

  it('lets both transports through with a session', async () => {
    const session = await manager.createSession('hybrid', randomBytes(32));
    const res = await fetch(`${grpcApp.httpUrl}/http/whoami`, {
      headers: { 'x-mesh-session-id': session.id },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ serviceId: 'hybrid' });
    const outcome = await rawCall(client, WHOAMI, Buffer.alloc(0), withSessionId(session.id));
    expect(outcome.reply).toEqual({ serviceId: 'hybrid', sessionId: session.id });
  });

  it('exempts @SkipSession() handlers on both transports', async () => {
    expect((await fetch(`${grpcApp.httpUrl}/http/public`)).status).toBe(200);
    const outcome = await rawCall(client, PUBLIC, encode({ name: 'anyone' }));
    expect(outcome.reply).toEqual({ message: 'Hello, anyone' });
  });
});

/** Guarded twice: by the global guard and by its own. */
@Controller()
@UseGuards(SessionGuard)
class DoubleGuardedController {
  @GrpcMethod('Greeter', 'Whoami')
  whoami(
    @Payload() _data: object,
    @CurrentSession() session: Session,
  ): { serviceId: string; sessionId: string } {
    return { serviceId: session.serviceId, sessionId: session.id };
  }
}

describe.each(stores)('SessionGuard both global and on a gRPC handler, $name store', (factory) => {
  let grpcApp: GrpcApp;
  let client: Client;

  beforeAll(async () => {
    grpcApp = await startGrpcApp({
      store: await factory.create(),
      controllers: [DoubleGuardedController],
      providers: [{ provide: APP_GUARD, useClass: SessionGuard }],
      rateLimit: { maxRequests: 2, windowMs: 60_000 },
    });
    client = rawGrpcClient(grpcApp.url, 'greeter.v1.Greeter');
  });

  afterAll(async () => {
    client?.close();
    await grpcApp?.close();
    await factory.teardown?.();
  });

  it('checks a call once: one unit of rate-limit budget per call', async () => {
    const session = await grpcApp.app.get(SessionManager).createSession('twice', randomBytes(32));
    const call = () => rawCall(client, WHOAMI, Buffer.alloc(0), withSessionId(session.id));
    expect((await call()).reply).toEqual({ serviceId: 'twice', sessionId: session.id });
    expect((await call()).reply).toBeDefined();
    expectRefusal(await call(), status.RESOURCE_EXHAUSTED, 'Rate limit exceeded');
  });
});
