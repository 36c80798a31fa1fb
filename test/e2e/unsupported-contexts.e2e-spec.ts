import { randomBytes } from 'node:crypto';
import { jest } from '@jest/globals';
import {
  Controller,
  Injectable,
  UseGuards,
  type CanActivate,
  type ExecutionContext,
  type INestApplication,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/internal';
import {
  ClientProxyFactory,
  MessagePattern,
  MqttContext,
  NatsContext,
  Payload,
  RedisContext,
  RmqContext,
  TcpContext,
  Transport,
  type ClientProxy,
} from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { firstValueFrom } from 'rxjs';
import {
  MeshSessionModule,
  SessionGuard,
  SessionManager,
  SkipSession,
  type Session,
  type SessionStore,
} from '../../lib/index.js';
import { GuardMessages } from '../../lib/guard/guard.messages.js';
import { storeFactories } from '../support/store-factories.js';
import { countTouches, recordStoreCalls } from '../support/store-faults.js';
import { freePort } from '../support/grpc/grpc-app.js';
import { CapturingLogger } from './handshake-fixtures.js';

/*
 * SessionGuard on handlers of other transports (TCP, NATS, Redis, RabbitMQ, MQTT, WebSockets):
 * an error naming the context, and the payload neither read as credentials nor written to,
 * even when it carries what looks like a request's headers with a live session id.
 */

/** The payloads the guard before SessionGuard saw, by reference. */
const seenPayloads: unknown[] = [];
/** The payloads that reached a handler. */
const handled: unknown[] = [];

@Injectable()
class PayloadRecorder implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    seenPayloads.push(context.getArgByIndex(0));
    return true;
  }
}

@Controller()
class TcpController {
  @UseGuards(PayloadRecorder, SessionGuard)
  @MessagePattern('greet')
  greet(@Payload() data: unknown): { ok: true } {
    handled.push(data);
    return { ok: true };
  }

  @UseGuards(SessionGuard)
  @SkipSession()
  @MessagePattern('public')
  public(@Payload() data: unknown): { ok: true } {
    handled.push(data);
    return { ok: true };
  }
}

/** A deep copy, to compare a payload with what it was before the guard saw it. */
const copy = <T>(value: T): T => structuredClone(value);

/** Every own key, strings and symbols, at every level of a plain object. */
function ownKeysDeep(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Reflect.ownKeys(value).map((key) => [
      String(key),
      ownKeysDeep((value as Record<string | symbol, unknown>)[key]),
    ]),
  );
}

const stores = storeFactories.filter(({ name }) => name === 'memory' || name === 'redis');

describe.each(stores)('SessionGuard on a TCP microservice handler, $name store', (factory) => {
  let app: INestApplication;
  let store: SessionStore;
  let manager: SessionManager;
  let client: ClientProxy;
  let logger: CapturingLogger;

  beforeAll(async () => {
    store = await factory.create();
    logger = new CapturingLogger();
    const moduleRef = await Test.createTestingModule({
      imports: [MeshSessionModule.forRoot({ cleanupInterval: false, store })],
      controllers: [TcpController],
      providers: [PayloadRecorder],
    }).compile();
    app = moduleRef.createNestApplication({ logger });
    const port = await freePort();
    app.connectMicroservice({ transport: Transport.TCP, options: { host: '127.0.0.1', port } });
    await app.startAllMicroservices();
    await app.init();
    manager = app.get(SessionManager);
    client = ClientProxyFactory.create({
      transport: Transport.TCP,
      options: { host: '127.0.0.1', port },
    });
    await client.connect();
  });

  afterAll(async () => {
    await client?.close();
    await app?.close();
    await factory.teardown?.();
  });

  beforeEach(() => {
    seenPayloads.length = 0;
    handled.length = 0;
    logger.lines.length = 0;
  });

  afterEach(() => {
    jest.restoreAllMocks();
  });

  const send = (pattern: string, payload: unknown): Promise<unknown> =>
    firstValueFrom(client.send(pattern, payload));

  it('refuses the call with an error naming the context, and never runs the handler', async () => {
    // The caller gets Nest's generic RPC error; the operator's log names the context.
    await expect(send('greet', { name: 'World' })).rejects.toEqual({
      status: 'error',
      message: 'Internal server error',
    });
    expect(handled).toEqual([]);
    const expected = GuardMessages.unsupportedContext('rpc (TcpContext)');
    expect(expected).toContain('rpc (TcpContext)');
    expect(logger.lines.filter((line) => line.includes(expected))).toHaveLength(1);
  });

  it('neither accepts nor writes into a payload that carries a live session id in headers', async () => {
    const session: Session = await manager.createSession('tcp-caller', randomBytes(32));
    const touches = countTouches(store);
    const reads = recordStoreCalls(store, 'get');
    const payload = {
      name: 'World',
      headers: { 'x-mesh-session-id': session.id, host: 'example' },
      metadata: { 'x-mesh-session-id': [session.id] },
      'x-mesh-session-id': session.id,
    };
    const sent = copy(payload);
    await expect(send('greet', payload)).rejects.toMatchObject({ status: 'error' });
    expect(handled).toEqual([]);
    expect(seenPayloads).toHaveLength(1);
    // The very object the guard was handed, after it ran: nothing added, nothing changed.
    expect(seenPayloads[0]).toEqual(sent);
    expect(ownKeysDeep(seenPayloads[0])).toEqual(ownKeysDeep(sent));
    expect(touches()).toBe(0);
    expect(reads()).toEqual([]);
    expect(
      logger.lines.some((line) =>
        line.includes(GuardMessages.unsupportedContext('rpc (TcpContext)')),
      ),
    ).toBe(true);
  });

  it('lets a @SkipSession() handler through, as on HTTP', async () => {
    await expect(send('public', { name: 'World' })).resolves.toEqual({ ok: true });
    expect(handled).toEqual([{ name: 'World' }]);
  });
});

describe('SessionGuard.canActivate on contexts of other transports', () => {
  const manager = new SessionManager();
  const guard = new SessionGuard(manager, new Reflector(), {
    sessionHeader: 'x-mesh-session-id',
    requestSigning: false,
    storeTimeout: 2_000,
  });
  let liveId: string;

  beforeAll(async () => {
    liveId = (await manager.createSession('caller', randomBytes(32))).id;
  });

  /** A payload shaped like a request: headers with a live session id, frozen all the way. */
  function requestLikePayload(): Record<string, unknown> {
    return Object.freeze({
      headers: Object.freeze({ 'x-mesh-session-id': liveId }),
      'x-mesh-session-id': liveId,
    });
  }

  function context(type: string, args: unknown[], handler = TcpController.prototype.greet) {
    const host = new ExecutionContextHost(args, TcpController, handler);
    host.setType(type);
    return host;
  }

  const socketLike = { on: () => undefined, sendMessage: () => undefined };

  it.each([
    ['NatsContext', () => new NatsContext(['greet', { get: () => liveId }])],
    ['RedisContext', () => new RedisContext(['greet'])],
    ['RmqContext', () => new RmqContext([{ properties: { headers: {} } }, {}, 'greet'])],
    ['MqttContext', () => new MqttContext(['greet', {}])],
    ['TcpContext', () => new TcpContext([socketLike as never, 'greet'])],
  ])('refuses an rpc handler of %s with an error naming it', async (name, transport) => {
    const payload = requestLikePayload();
    // The guard checks through one or the other, as the store allows.
    const validate = jest.spyOn(manager, 'validateSession');
    const validateNow = jest.spyOn(manager, 'validateSessionNow');
    await expect(guard.canActivate(context('rpc', [payload, transport()]))).rejects.toThrow(
      GuardMessages.unsupportedContext(`rpc (${name})`),
    );
    expect(payload).toEqual({
      headers: { 'x-mesh-session-id': liveId },
      'x-mesh-session-id': liveId,
    });
    expect(validate).not.toHaveBeenCalled();
    expect(validateNow).not.toHaveBeenCalled();
    validate.mockRestore();
    validateNow.mockRestore();
  });

  it('refuses an rpc handler whose context argument is a plain object as "rpc"', async () => {
    await expect(
      guard.canActivate(context('rpc', [requestLikePayload(), { headers: {} }])),
    ).rejects.toThrow(GuardMessages.unsupportedContext('rpc'));
  });

  it('names the context even when its argument has no usable constructor', async () => {
    // A custom transport may hand parsed JSON or a prototype-less object as the context.
    for (const transport of [Object.create(null), JSON.parse('{"constructor":null}')]) {
      await expect(
        guard.canActivate(context('rpc', [requestLikePayload(), transport])),
      ).rejects.toThrow(GuardMessages.unsupportedContext('rpc'));
    }
  });

  it("names the context argument's class from its prototype, never from its own fields", async () => {
    class CustomTransportContext extends NatsContext {}
    const cases: [unknown, string][] = [
      [new CustomTransportContext(['greet', {}]), 'rpc (CustomTransportContext)'],
      // Parsed from what a caller sent: its "constructor" is data, not a class.
      [JSON.parse('{"constructor":{"name":"TcpContext"}}'), 'rpc'],
      [
        Object.assign(new NatsContext(['greet', {}]), { constructor: { name: 'GrpcContext' } }),
        'rpc (NatsContext)',
      ],
    ];
    for (const [transport, named] of cases) {
      const refused = guard.canActivate(context('rpc', [requestLikePayload(), transport]));
      await expect(refused).rejects.toThrow(new Error(GuardMessages.unsupportedContext(named)));
    }
  });

  it('does not take a payload that imitates gRPC metadata for a gRPC call', async () => {
    // Plain data (what any JSON transport can carry) with the metadata's method names as
    // strings: nothing callable, so not a gRPC call.
    const fakeMetadata = { get: liveId, set: liveId, getMap: liveId, toHttp2Headers: liveId };
    const fakeCall = { getPath: '/greeter.v1.Greeter/Greet', getPeer: '127.0.0.1' };
    await expect(
      guard.canActivate(context('rpc', [requestLikePayload(), fakeMetadata, fakeCall])),
    ).rejects.toThrow(GuardMessages.unsupportedContext('rpc'));
  });

  it('refuses a WebSocket handler with an error naming "ws"', async () => {
    const payload = requestLikePayload();
    const socket = Object.freeze({ handshake: { headers: { 'x-mesh-session-id': liveId } } });
    await expect(guard.canActivate(context('ws', [socket, payload]))).rejects.toThrow(
      GuardMessages.unsupportedContext('ws'),
    );
    expect(GuardMessages.unsupportedContext('ws')).toContain('"ws"');
    expect(payload).toEqual({
      headers: { 'x-mesh-session-id': liveId },
      'x-mesh-session-id': liveId,
    });
  });

  it('lets a @SkipSession() handler through on any transport, with no Promise', () => {
    const handler = TcpController.prototype.public;
    expect(
      guard.canActivate(
        context('rpc', [requestLikePayload(), new NatsContext(['public', {}])], handler),
      ),
    ).toBe(true);
    expect(guard.canActivate(context('ws', [{}, requestLikePayload()], handler))).toBe(true);
  });
});
