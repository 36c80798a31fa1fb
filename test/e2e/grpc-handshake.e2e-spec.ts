import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { jest } from '@jest/globals';
import { Module } from '@nestjs/common';
import { APP_GUARD, NestFactory } from '@nestjs/core';
import { status } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import type { INestMicroservice } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import {
  HandshakeService,
  MeshSessionModule,
  SessionGuard,
  SessionManager,
  SessionStore,
  type ServerHello,
} from '../../lib/index.js';
import {
  MESH_HANDSHAKE_PACKAGE,
  MESH_HANDSHAKE_PATHS,
  MeshSessionGrpcModule,
  messageBytesOf,
  meshGrpcOptions,
} from '../../lib/grpc.js';
import { grpcPeerAddress } from '../../lib/grpc/grpc-peer-address.js';
import {
  ClientHandshake,
  createClientHello,
  type ClientSession,
} from '../../lib/protocol/handshake/client-handshake.js';
import { createEphemeralKeyPair } from '../../lib/protocol/handshake/ephemeral-keys.js';
import {
  callError,
  freePort,
  GREETER_PROTO_PATH,
  metadataOf,
  rawHandshakeClient,
  rawUnaryCall,
  signedCallMetadata,
  startGrpcApp,
  unaryCall,
  type GrpcApp,
  type RawGrpcClient,
} from '../support/grpc/grpc-app.js';
import { storeFactories, teardownStoreFactories } from '../support/store-factories.js';
import { CapturingLogger, keys } from './handshake-fixtures.js';

const handshake = {
  privateKey: keys.greeter.privateKey,
  trustedServices: { caller: keys.caller.publicKey, billing: keys.stranger.publicKey },
};
const greeterKeys = [createPublicKey(keys.greeter.publicKey)];

/** A signed hello from "caller" to "greeter", as the JSON hello (the proto's field names). */
function hello(
  overrides: Partial<Parameters<typeof createClientHello>[0]> & { signer?: KeyObject } = {},
): Record<string, unknown> {
  return {
    ...createClientHello({
      clientId: 'caller',
      serverId: 'greeter',
      identityKey: overrides.signer ?? createPrivateKey(keys.caller.privateKey),
      ephemeral: createEphemeralKeyPair(),
      clientVersion: 'test/1',
      ...overrides,
    }).hello,
  };
}

/** A raw call of Open with the given bytes as the message, to send what no encoder would. */
async function openRaw(client: RawGrpcClient, bytes: Buffer): Promise<Buffer> {
  const outcome = await rawUnaryCall(client, MESH_HANDSHAKE_PATHS.open, bytes);
  if (outcome.error !== undefined) throw outcome.error;
  return outcome.reply;
}

/** Opens a session through a client handshake, and checks the server's signed reply. */
async function openSession(client: RawGrpcClient): Promise<ClientSession> {
  const clientHandshake = new ClientHandshake({
    clientId: 'caller',
    serverId: 'greeter',
    identityKey: keys.caller.privateKey,
    clientVersion: 'test/1',
  });
  const reply = await unaryCall<ServerHello>(client, 'Open', clientHandshake.hello.hello);
  return clientHandshake.complete(JSON.stringify(reply), greeterKeys);
}

// Redis Cluster adds nothing here: the handshake's store calls are the HTTP endpoint's.
const stores = storeFactories.filter((factory) => ['memory', 'redis'].includes(factory.name));

afterAll(teardownStoreFactories);

describe.each(stores)('gRPC handshake on the $name store', (factory) => {
  let greeter: GrpcApp;
  let client: RawGrpcClient;
  let manager: SessionManager;
  let logger: CapturingLogger;

  beforeAll(async () => {
    greeter = await startGrpcApp({ store: await factory.create(), handshake });
    client = rawHandshakeClient(greeter.url);
    manager = greeter.app.get(SessionManager);
    logger = greeter.logger as CapturingLogger;
  });

  afterAll(async () => {
    client.close();
    await greeter.close();
  });

  afterEach(() => {
    jest.restoreAllMocks();
  });

  /** Expects UNAUTHENTICATED `Handshake failed`, the reason in the log only, and no session. */
  async function expectFailure(pending: () => Promise<unknown>, reason: RegExp): Promise<void> {
    const created = (await manager.getStats()).created;
    // Within a burst, failures after the first are only counted: start a new one.
    (
      greeter.app.get(HandshakeService) as unknown as { failures: { resolve(): void } }
    ).failures.resolve();
    const logsBefore = logger.lines.length;
    const error = await callError(pending());
    expect({ code: error.code, details: error.details }).toEqual({
      code: status.UNAUTHENTICATED,
      details: 'Handshake failed',
    });
    const log = logger.lines.slice(logsBefore).join('\n');
    expect(log).toMatch(/Handshake from 127\.0\.0\.1 \(claims .*\) failed: /);
    expect(log).toMatch(reason);
    expect((await manager.getStats()).created).toBe(created);
  }
  const open = (message: object) => () => unaryCall(client, 'Open', message);

  it('opens a session whose signed ServerHello the client verifies, with the same key', async () => {
    const session = await openSession(client);
    const stored = (await manager.getSessionsByServiceId('caller')).find(
      (candidate) => candidate.id === session.sessionId,
    );
    expect(stored?.sessionKey.equals(session.key)).toBe(true);
    expect(stored?.expiresAt).toBe(session.expiresAt);
    expect(stored?.metadata).toEqual({
      peerAddress: '127.0.0.1',
      clientVersion: 'test/1',
      handshakeVersion: 1,
    });
  });

  it('refuses an unpinned client id', async () => {
    const stranger = hello({
      clientId: 'stranger',
      signer: createPrivateKey(keys.stranger.privateKey),
    });
    await expectFailure(open(stranger), /unknown service/);
  });

  it('refuses a hello signed with another identity key', async () => {
    const forged = hello({ signer: createPrivateKey(keys.stranger.privateKey) });
    await expectFailure(open(forged), /signature does not verify/);
  });

  it('refuses a tampered signature, nonce or client version', async () => {
    const message = hello();
    const signature = String(message.signature);
    const flipped = `${signature[0] === 'A' ? 'B' : 'A'}${signature.slice(1)}`;
    await expectFailure(open({ ...message, signature: flipped }), /signature does not verify/);
    await expectFailure(open({ ...message, clientVersion: 'test/2' }), /signature/);
    const nonce = Buffer.alloc(32, 7).toString('base64url');
    await expectFailure(open({ ...message, nonce }), /signature/);
  });

  it('refuses a replayed hello', async () => {
    const message = hello();
    await unaryCall(client, 'Open', message);
    await expectFailure(open(message), /replayed/);
  });

  it('refuses a stale or a future timestamp', async () => {
    await expectFailure(open(hello({ timestamp: Date.now() - 61_000 })), /timestamp .* off/);
    await expectFailure(open(hello({ timestamp: Date.now() + 61_000 })), /timestamp .* off/);
  });

  it('refuses a hello meant for another service', async () => {
    await expectFailure(open(hello({ serverId: 'billing' })), /wrong target service "billing"/);
  });

  it('refuses missing fields, an empty message and a wrong version', async () => {
    const unsigned = hello();
    delete unsigned.signature;
    await expectFailure(open(unsigned), /lacks signature/);
    const untimed = hello();
    delete untimed.timestamp;
    await expectFailure(open(untimed), /lacks timestamp/);
    await expectFailure(open({}), /lacks version/);
    await expectFailure(open({ ...hello(), version: 2 }), /unsupported protocol version/);
  });

  it('refuses values of the wrong size or range, and oversized messages', async () => {
    await expectFailure(open({ ...hello(), nonce: 'AAAA' }), /nonce is not 32 bytes/);
    await expectFailure(open({ ...hello(), clientId: 'c'.repeat(300) }), /clientId is not/);
    await expectFailure(open({ ...hello(), clientVersion: 'v'.repeat(65) }), /clientVersion/);
    // Beyond 2^53: read as an unsafe number with longs: Number.
    await expectFailure(
      open({ ...hello(), timestamp: '9223372036854775807' }),
      /timestamp is not a time/,
    );
    await expectFailure(
      open({ ...hello(), clientVersion: 'v'.repeat(1_000_000) }),
      /larger than 4096 bytes/,
    );
  });

  it('refuses bytes of the wrong wire types, and bytes that do not decode', async () => {
    // Field 1 (version, a varint) sent as a length-delimited field.
    await expectFailure(
      () => openRaw(client, Buffer.from([0x0a, 0x02, 0x41, 0x42])),
      /version|lacks/,
    );
    // Field 3 (serverId, a string) sent as a varint.
    await expectFailure(() => openRaw(client, Buffer.from([0x18, 0x01])), /lacks|not printable/);
    await expectFailure(() => openRaw(client, Buffer.from([0xff])), /could not be decoded/);
    await expectFailure(
      () => openRaw(client, Buffer.from([0x32, 0x01, 0x41])),
      /could not be decoded/,
    );
  });

  it('answers UNAVAILABLE with retry-after: 1 when the store fails, and creates nothing', async () => {
    const created = (await manager.getStats()).created;
    jest
      .spyOn(greeter.app.get(SessionStore), 'claimNonce')
      .mockRejectedValueOnce(new Error('nonce down'));
    const error = await callError(unaryCall(client, 'Open', hello()));
    expect(error.code).toBe(status.UNAVAILABLE);
    expect(error.details).toBe('Session store unavailable');
    expect(error.metadata.get('retry-after')).toEqual(['1']);
    expect((await manager.getStats()).created).toBe(created);
    await openSession(client);
  });

  it('ends the session on a signed Close, and refuses an unsigned one', async () => {
    const { sessionId, key } = await openSession(client);
    const unsigned = metadataOf({ 'x-mesh-session-id': sessionId });
    const refused = await callError(unaryCall(client, 'Close', {}, unsigned));
    expect({ code: refused.code, details: refused.details }).toEqual({
      code: status.UNAUTHENTICATED,
      details: 'Missing request signature',
    });
    expect(await manager.getSession(sessionId)).toBeDefined();

    const signed = signedCallMetadata({
      path: MESH_HANDSHAKE_PATHS.close,
      message: new Uint8Array(0),
      sessionId,
      sessionKey: key,
    });
    expect(await unaryCall(client, 'Close', {}, signed)).toEqual({ ended: true });
    expect(await manager.getSession(sessionId)).toBeUndefined();
  });
});

describe.each(stores)('gRPC handshake rate limit on the $name store', (factory) => {
  it('answers RESOURCE_EXHAUSTED with a retry-after trailer past the limit', async () => {
    const greeter = await startGrpcApp({
      store: await factory.create(),
      handshake: { ...handshake, rateLimit: { maxRequests: 2, windowMs: 60_000 } },
    });
    const client = rawHandshakeClient(greeter.url);
    try {
      await openSession(client);
      await openSession(client);
      const error = await callError(unaryCall(client, 'Open', hello()));
      expect(error.code).toBe(status.RESOURCE_EXHAUSTED);
      expect(error.details).toBe('Too many handshakes');
      expect(Number(error.metadata.get('retry-after')[0])).toBeGreaterThanOrEqual(59);
      // The limit is per (address, claimed service): another pinned service still gets in.
      const billing = hello({
        clientId: 'billing',
        signer: createPrivateKey(keys.stranger.privateKey),
      });
      expect(await unaryCall(client, 'Open', billing)).toMatchObject({
        sessionId: expect.any(String),
      });
    } finally {
      client.close();
      await greeter.close();
    }
  });
});

describe('gRPC handshake apps', () => {
  it('serves the handshake from a gRPC-only app (createMicroservice, no HTTP server)', async () => {
    @Module({
      imports: [
        MeshSessionModule.forRoot({
          isGlobal: true,
          serviceId: 'greeter',
          cleanupInterval: false,
          handshake,
        }),
        MeshSessionGrpcModule,
      ],
    })
    class GrpcOnlyModule {}
    const url = `127.0.0.1:${await freePort()}`;
    const app: INestMicroservice = await NestFactory.createMicroservice(GrpcOnlyModule, {
      ...meshGrpcOptions({ url }),
      logger: false,
    });
    await app.listen();
    const client = rawHandshakeClient(url);
    try {
      const session = await openSession(client);
      expect(await app.get(SessionManager).getSession(session.sessionId)).toBeDefined();
    } finally {
      client.close();
      await app.close();
    }
  });

  it('opens and closes sessions with SessionGuard also global (Open is exempt)', async () => {
    const greeter = await startGrpcApp({
      handshake,
      providers: [{ provide: APP_GUARD, useExisting: SessionGuard }],
    });
    const client = rawHandshakeClient(greeter.url);
    try {
      const { sessionId, key } = await openSession(client);
      // The global guard and the method's own pass the call with one nonce.
      const signed = signedCallMetadata({
        path: MESH_HANDSHAKE_PATHS.close,
        message: new Uint8Array(0),
        sessionId,
        sessionKey: key,
      });
      expect(await unaryCall(client, 'Close', {}, signed)).toEqual({ ended: true });
    } finally {
      client.close();
      await greeter.close();
    }
  });

  it('fails at startup without the handshake option, or without a global MeshSessionModule', async () => {
    await expect(
      Test.createTestingModule({
        imports: [
          MeshSessionModule.forRoot({ isGlobal: true, serviceId: 'greeter' }),
          MeshSessionGrpcModule,
        ],
      }).compile(),
    ).rejects.toThrow(/MeshSessionModule has no handshake configured/);
    await expect(
      Test.createTestingModule({
        imports: [
          MeshSessionModule.forRoot({ serviceId: 'greeter', handshake }),
          MeshSessionGrpcModule,
        ],
      }).compile(),
    ).rejects.toThrow(/needs MeshSessionModule registered globally/);
  });
});

describe('meshGrpcOptions()', () => {
  it('loads the app protos and the handshake proto, and keeps message bytes', () => {
    const { transport, options } = meshGrpcOptions({
      url: '127.0.0.1:1',
      package: 'greeter.v1',
      protoPath: GREETER_PROTO_PATH,
      loader: { keepCase: true },
    });
    expect(transport).toBe(4); // Transport.GRPC
    expect(options).toMatchObject({
      url: '127.0.0.1:1',
      package: ['greeter.v1', MESH_HANDSHAKE_PACKAGE],
    });
    expect(options).not.toHaveProperty('protoPath');
    const greet = options.packageDefinition['greeter.v1.Greeter'] as Record<
      string,
      { requestDeserialize(b: Buffer): unknown; requestSerialize(v: object): Buffer }
    >;
    const bytes = greet.Greet.requestSerialize({ name: 'x' });
    const message = greet.Greet.requestDeserialize(bytes);
    expect(messageBytesOf(message)?.equals(bytes)).toBe(true);
    // The handshake proto keeps its own loader options whatever the app's.
    const open = (options.packageDefinition['mesh_session.v1.MeshHandshake'] as typeof greet).Open;
    expect(open.requestDeserialize(open.requestSerialize({ clientId: 'a', timestamp: 5 }))).toEqual(
      { clientId: 'a', timestamp: 5 },
    );
  });

  it('takes a packageDefinition, several packages, or none (handshake only)', () => {
    const packageDefinition = loadSync(GREETER_PROTO_PATH);
    const given = meshGrpcOptions({
      package: ['greeter.v1', MESH_HANDSHAKE_PACKAGE],
      packageDefinition,
    });
    expect(given.options.package).toEqual(['greeter.v1', MESH_HANDSHAKE_PACKAGE]);
    expect(Object.keys(given.options.packageDefinition)).toContain('greeter.v1.GreetRequest');
    expect(meshGrpcOptions({}).options.package).toEqual([MESH_HANDSHAKE_PACKAGE]);
  });

  it.each([
    ['no options', undefined, /the options must be Nest's gRPC options, got undefined/],
    [
      'a bad package',
      { package: 42, protoPath: GREETER_PROTO_PATH },
      /package must be a proto package name/,
    ],
    ['an empty package', { package: '', protoPath: GREETER_PROTO_PATH }, /package must be/],
    [
      'both proto sources',
      { package: 'greeter.v1', protoPath: GREETER_PROTO_PATH, packageDefinition: {} },
      /either protoPath or packageDefinition/,
    ],
    [
      'a package without protos',
      { package: 'greeter.v1' },
      /protoPath or packageDefinition is required/,
    ],
    [
      'a bad protoPath',
      { package: 'greeter.v1', protoPath: [] },
      /protoPath must be the path of a \.proto file/,
    ],
    [
      'a missing proto',
      { package: 'greeter.v1', protoPath: '/nowhere/x.proto' },
      /could not be loaded: .*ENOENT/,
    ],
    [
      'an unknown package',
      { package: 'billing.v1', protoPath: GREETER_PROTO_PATH },
      /package "billing\.v1" is not in the loaded protos/,
    ],
    [
      'a bad loader',
      { package: 'greeter.v1', protoPath: GREETER_PROTO_PATH, loader: 'x' },
      /loader must be/,
    ],
    [
      'a bad packageDefinition',
      { package: 'greeter.v1', packageDefinition: 'x' },
      /packageDefinition must be/,
    ],
  ])('refuses %s with a clear error', (_name, options, message) => {
    expect(() => meshGrpcOptions(options as never)).toThrow(message);
  });
});

describe('grpcPeerAddress()', () => {
  it.each([
    ['ipv4:127.0.0.1:5555', '127.0.0.1'],
    ['ipv6:[::1]:5555', '::1'],
    ['127.0.0.1:5555', '127.0.0.1'],
    ['::1:5555', '::1'],
    ['::ffff:127.0.0.1:40000', '::ffff:127.0.0.1'],
    ['[fe80::1]:80', 'fe80::1'],
    ['10.0.0.7', '10.0.0.7'],
    ['unix:/run/app.sock', 'unix:/run/app.sock'],
    ['', 'unknown'],
    [undefined, 'unknown'],
    ['a b\nc', 'a?b?c'],
  ])('reads %p as %p', (peer, address) => {
    expect(grpcPeerAddress(peer)).toBe(address);
  });
});
