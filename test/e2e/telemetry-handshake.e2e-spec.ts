import { randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Controller, UseGuards } from '@nestjs/common';
import { GrpcMethod, Payload } from '@nestjs/microservices';
import { Metadata } from '@grpc/grpc-js';
import request from 'supertest';
import {
  CurrentSession,
  MESH_SESSION_ATTRIBUTES as A,
  MESH_SESSION_METRICS as M,
  MemorySessionStore,
  MeshClient,
  MeshHandshakeError,
  SessionGuard,
  SessionManager,
  type MeshClientModuleOptions,
  type Session,
  type SessionStore,
} from '../../lib/index.js';
import { freePort } from '../support/redis-server.js';
import { storeFactories, teardownStoreFactories } from '../support/store-factories.js';
import {
  GREETER_PROTO_PATH,
  encodeGreetRequest,
  rawGreeterCall,
  rawGrpcClient,
  signedCallMetadata,
  startGrpcApp,
  type GrpcApp,
} from '../support/grpc/grpc-app.js';
import { TestTelemetry, type Point } from '../support/telemetry.js';
import { keys, platforms, startGreeter, type RunningApp } from './handshake-fixtures.js';
import { craftSignature } from './signed-request.helpers.js';

/*
 * The handshake metrics of both sides (server and MeshClient, over HTTP and gRPC) with every
 * outcome, and the guard's refusal reasons of signature mode, on the memory and Redis stores.
 */

const STORES = storeFactories.filter((factory) => factory.name !== 'redis-cluster');
const GREET = '/greeter.v1.Greeter/Greet';

afterAll(() => teardownStoreFactories());

const count = (points: Point[], where: Record<string, string>): number =>
  points
    .filter((p) => Object.entries(where).every(([k, v]) => p.attributes[k] === v))
    .reduce((n, p) => n + p.value, 0);

function client(
  url: string,
  otel: TestTelemetry,
  overrides: Partial<MeshClientModuleOptions> = {},
  publicKey = keys.greeter.publicKey,
): MeshClient {
  return new MeshClient({
    serviceId: 'caller',
    privateKey: keys.caller.privateKey,
    services: { greeter: { url, publicKey } },
    timeout: 5_000,
    telemetry: otel.options,
    ...overrides,
  });
}

@Controller()
@UseGuards(SessionGuard)
class GrpcGreeter {
  @GrpcMethod('Greeter', 'Greet')
  greet(@Payload() data: { name?: string }, @CurrentSession() session: Session) {
    return { message: `Hello, ${data.name ?? ''} from ${session.serviceId}` };
  }
}

describe.each(STORES)('handshake and signature-mode metrics on the $name store', (factory) => {
  let otel: TestTelemetry;
  let store: SessionStore;

  beforeEach(async () => {
    otel = new TestTelemetry();
    store = await factory.create();
  });

  afterEach(async () => {
    await store.close();
    await otel.shutdown();
  });

  describe('over HTTP', () => {
    let greeter: RunningApp;

    beforeEach(async () => {
      greeter = await startGreeter(platforms[0], {
        store,
        telemetry: otel.options,
        handshake: { rateLimit: { maxRequests: 3, windowMs: 60_000 } } as never,
      });
    });

    afterEach(() => greeter.close());

    it('counts and times handshakes on both sides, by outcome', async () => {
      const caller = client(greeter.url, otel);
      expect(await caller.connect('greeter').call('greet', { name: 'World' })).toEqual({
        message: 'Hello, World',
        serviceId: 'caller',
      });
      // Not JSON: a failed hello, on a pair of its own (no pinned service claimed).
      const bad = await request(greeter.url)
        .post('/mesh/handshake')
        .set('content-type', 'application/json')
        .send('{');
      expect(bad.status).toBe(401);
      const failure = async (mesh: MeshClient) =>
        (
          (await mesh
            .connect('greeter')
            .connect()
            .catch((e: unknown) => e)) as MeshHandshakeError
        ).reason;
      // A stranger's key under the pinned name: refused by the server.
      expect(
        await failure(client(greeter.url, otel, { privateKey: keys.stranger.privateKey })),
      ).toBe('rejected');
      // The server's reply does not verify against the key this client pinned.
      expect(await failure(client(greeter.url, otel, {}, keys.stranger.publicKey))).toBe(
        'invalid_reply',
      );
      // The pair (this address, "caller") has spent its 3 handshakes.
      expect(await failure(client(greeter.url, otel))).toBe('rate_limited');
      expect(await failure(client(`http://127.0.0.1:${await freePort()}`, otel))).toBe('network');
      await caller.disconnectAll();

      const handshakes = await otel.points(M.handshakes);
      const server = { [A.handshakeSide]: 'server', [A.transport]: 'http' };
      const clientSide = { [A.handshakeSide]: 'client', [A.transport]: 'http' };
      expect(
        count(handshakes, { ...server, [A.outcome]: 'success', [A.peerService]: 'caller' }),
      ).toBe(2);
      expect(
        count(handshakes, { ...server, [A.outcome]: 'failed', [A.peerService]: 'caller' }),
      ).toBe(1);
      // The unparsable hello claims nobody: no peer attribute.
      expect(
        handshakes.filter(
          (p) =>
            p.attributes[A.outcome] === 'failed' &&
            p.attributes[A.handshakeSide] === 'server' &&
            p.attributes[A.peerService] === undefined,
        ),
      ).toEqual([expect.objectContaining({ value: 1 })]);
      expect(count(handshakes, { ...server, [A.outcome]: 'rate_limited' })).toBe(1);
      expect(
        count(handshakes, { ...clientSide, [A.outcome]: 'success', [A.peerService]: 'greeter' }),
      ).toBe(1);
      for (const outcome of ['rejected', 'invalid_reply', 'rate_limited', 'network']) {
        expect(count(handshakes, { ...clientSide, [A.outcome]: outcome })).toBe(1);
      }
      const durations = await otel.points(M.handshakeDuration);
      expect(count(durations, { ...server })).toBe(5);
      expect(count(durations, { ...clientSide })).toBe(5);
      expect(durations.every((p) => p.attributes[A.peerService] === undefined)).toBe(true);

      const calls = await otel.points(M.storeOperationDuration);
      for (const operation of ['claim_nonce', 'create', 'get', 'claim_nonce_and_touch', 'delete']) {
        expect(count(calls, { [A.storeOperation]: operation })).toBeGreaterThanOrEqual(1);
      }
      // The allowed call was the caller's, a pinned service: named by default.
      expect(
        await otel.sum(M.guardRequests, { [A.outcome]: 'allowed', [A.peerService]: 'caller' }),
      ).toBe(2); // greet, and the signed DELETE of disconnectAll
    });

    it('names every refusal of signature mode', async () => {
      const manager = greeter.app.get(SessionManager);
      const key = randomBytes(32);
      const session = await manager.createSession('caller', key);
      const url = `${greeter.url}/greet`;
      const body = Buffer.from('{"name":"World"}');
      const post = (headers: Record<string, string>, sent: Buffer = body) =>
        request(greeter.url)
          .post('/greet')
          .set(headers)
          .set('content-type', 'application/json')
          .send(sent.toString());
      const sign = (overrides: Partial<Parameters<typeof craftSignature>[0]> = {}) =>
        craftSignature({ method: 'POST', url, body, sessionId: session.id, key, ...overrides });

      const valid = sign();
      expect((await post(valid)).status).toBe(200);
      const refusals: [string, Promise<request.Response>][] = [];
      const refuse = (reason: string, pending: Promise<request.Response>) =>
        refusals.push([reason, pending]);
      refuse('signature_replayed', post(valid));
      refuse('signature_missing', post({}));
      refuse('signature_malformed', post({ 'signature-input': 'x', signature: 'y' }));
      refuse('signature_incomplete', post(sign({ components: ['@method'] })));
      refuse('signature_algorithm', post(sign({ params: { alg: 'hmac-sha512' } })));
      refuse('invalid', post(sign({ sessionId: 'not-a-uuid' })));
      refuse('unknown_or_expired', post(sign({ sessionId: randomUUID() })));
      refuse(
        'signature_stale',
        post(sign({ params: { created: Math.floor(Date.now() / 1000) - 3_600 } })),
      );
      refuse('digest_mismatch', post(sign(), Buffer.from('{"name":"Mallory"}')));
      refuse('signature_invalid', post(sign({ key: randomBytes(32) })));
      for (const [reason, pending] of refusals) {
        const res = await pending;
        expect({ reason, status: res.status }).toEqual({ reason, status: 401 });
      }
      const plain = Buffer.from('plain text');
      const unverifiable = await request(greeter.url)
        .post('/greet')
        .set(sign({ body: plain }))
        .set('content-type', 'text/plain')
        .send(plain.toString());
      expect(unverifiable.body.message).toBe('Request body cannot be verified');
      const revoked = await manager.createSession('caller', key);
      await manager.updateSessionMetadata(revoked.id, { revoked: true });
      expect((await post(sign({ sessionId: revoked.id }))).body.message).toBe(
        'Session has been revoked',
      );

      const requests = await otel.points(M.guardRequests);
      for (const reason of [...refusals.map(([r]) => r), 'body_unverifiable', 'revoked']) {
        expect({
          reason,
          count: count(requests, {
            [A.outcome]: 'refused',
            [A.refusalReason]: reason,
            [A.transport]: 'http',
          }),
        }).toEqual({ reason, count: 1 });
      }
      expect(count(requests, { [A.outcome]: 'allowed', [A.transport]: 'http' })).toBe(1);
      expect(count(requests, { [A.refusalReason]: 'other' })).toBe(0);
    });
  });

  describe('over gRPC', () => {
    let greeter: GrpcApp;

    beforeEach(async () => {
      greeter = await startGrpcApp({
        store,
        handshake: {
          privateKey: keys.greeter.privateKey,
          trustedServices: { caller: [keys.caller.publicKey] },
        },
        module: { telemetry: otel.options },
        controllers: [GrpcGreeter],
      });
    });

    afterEach(() => greeter.close());

    it('counts handshakes on both sides and guarded calls, with transport grpc', async () => {
      const caller = client(greeter.url, otel, {
        services: {
          greeter: {
            grpc: {
              address: greeter.url,
              protoPath: GREETER_PROTO_PATH,
              service: 'greeter.v1.Greeter',
            },
            publicKey: keys.greeter.publicKey,
          },
        },
      });
      expect(await caller.connect('greeter').call('Greet', { name: 'World' })).toEqual({
        message: 'Hello, World from caller',
      });
      const raw = rawGrpcClient(greeter.url, 'greeter.v1.Greeter');
      try {
        const bytes = encodeGreetRequest({ name: 'x' });
        expect((await rawGreeterCall(raw, GREET, bytes, new Metadata())).error?.details).toBe(
          'Missing request signature',
        );
        const session = await greeter.app
          .get(SessionManager)
          .createSession('caller', randomBytes(32));
        const undecodable = Buffer.from([0xff, 0xff, 0xff]);
        const signed = signedCallMetadata({
          path: GREET,
          message: undecodable,
          sessionId: session.id,
          sessionKey: randomBytes(32),
        });
        expect((await rawGreeterCall(raw, GREET, undecodable, signed)).error?.details).toBe(
          'Request message cannot be decoded',
        );
      } finally {
        raw.close();
        await caller.disconnectAll();
      }

      const handshakes = await otel.points(M.handshakes);
      for (const side of ['server', 'client']) {
        expect(
          count(handshakes, {
            [A.handshakeSide]: side,
            [A.transport]: 'grpc',
            [A.outcome]: 'success',
          }),
        ).toBe(1);
      }
      const requests = await otel.points(M.guardRequests);
      // Greet, and the signed Close of disconnectAll.
      expect(count(requests, { [A.outcome]: 'allowed', [A.transport]: 'grpc' })).toBe(2);
      expect(
        count(requests, { [A.refusalReason]: 'signature_missing', [A.transport]: 'grpc' }),
      ).toBe(1);
      expect(
        count(requests, { [A.refusalReason]: 'message_undecodable', [A.transport]: 'grpc' }),
      ).toBe(1);
      // The guard's duration times the two calls it let through.
      expect(await otel.sum(M.guardDuration)).toBe(2);
    });
  });
});

/** A memory store whose nonce claims fail: every handshake then meets a store failure. */
class NonceFailingStore extends MemorySessionStore {
  override async claimNonce(): Promise<boolean> {
    throw new Error('connection reset');
  }
}

describe('handshake outcomes against servers that cannot serve one', () => {
  let otel: TestTelemetry;

  beforeEach(() => {
    otel = new TestTelemetry();
  });

  afterEach(() => otel.shutdown());

  it('store_unavailable on the server, unavailable in the client', async () => {
    const greeter = await startGreeter(platforms[1], {
      store: new NonceFailingStore(),
      telemetry: otel.options,
    });
    try {
      const failure = await client(greeter.url, otel)
        .connect('greeter')
        .connect()
        .catch((e: unknown) => e as MeshHandshakeError);
      expect(failure?.reason).toBe('unavailable');
      const handshakes = await otel.points(M.handshakes);
      expect(
        count(handshakes, { [A.handshakeSide]: 'server', [A.outcome]: 'store_unavailable' }),
      ).toBe(1);
      expect(count(handshakes, { [A.handshakeSide]: 'client', [A.outcome]: 'unavailable' })).toBe(
        1,
      );
      expect(
        await otel.sum(M.storeErrors, {
          [A.storeOperation]: 'claim_nonce',
          [A.errorType]: 'error',
        }),
      ).toBe(1);
    } finally {
      await greeter.close();
    }
  });

  it('http, timeout and grpc in the client, for a server that answers no handshake', async () => {
    const silent = createServer((req, res) => {
      if (req.url === '/hang/mesh/handshake') return; // never answers
      res.statusCode = 404;
      res.end();
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    // A gRPC server without the handshake service: Open is UNIMPLEMENTED.
    const plain = await startGrpcApp({ controllers: [] });
    try {
      const outcome = async (service: MeshClientModuleOptions['services'][string]) =>
        (
          (await new MeshClient({
            serviceId: 'caller',
            privateKey: keys.caller.privateKey,
            services: { greeter: service },
            timeout: 300,
            telemetry: otel.options,
          })
            .connect('greeter')
            .connect()
            .catch((e: unknown) => e)) as MeshHandshakeError
        ).reason;
      const publicKey = keys.greeter.publicKey;
      expect(await outcome({ url: base, publicKey })).toBe('http');
      expect(await outcome({ url: `${base}/hang`, publicKey })).toBe('timeout');
      expect(
        await outcome({
          grpc: {
            address: plain.url,
            protoPath: GREETER_PROTO_PATH,
            service: 'greeter.v1.Greeter',
          },
          publicKey,
        }),
      ).toBe('grpc');
      const handshakes = await otel.points(M.handshakes);
      const clientSide = { [A.handshakeSide]: 'client', [A.peerService]: 'greeter' };
      expect(count(handshakes, { ...clientSide, [A.outcome]: 'http', [A.transport]: 'http' })).toBe(
        1,
      );
      expect(
        count(handshakes, { ...clientSide, [A.outcome]: 'timeout', [A.transport]: 'http' }),
      ).toBe(1);
      expect(count(handshakes, { ...clientSide, [A.outcome]: 'grpc', [A.transport]: 'grpc' })).toBe(
        1,
      );
    } finally {
      silent.closeAllConnections();
      await new Promise((resolve) => silent.close(resolve));
      await plain.close();
    }
  });
});
