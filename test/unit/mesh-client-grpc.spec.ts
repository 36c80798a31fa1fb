import { createHash, createHmac, createPrivateKey, randomUUID } from 'node:crypto';
import { inspect } from 'node:util';
import {
  Client,
  credentials,
  Metadata,
  Server,
  ServerCredentials,
  status,
  type Interceptor,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServiceDefinition,
  type ServiceError,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import {
  generateIdentityKeyPair,
  MeshClient,
  MeshHandshakeError,
  type MeshClientModuleOptions,
} from '../../lib/index.js';
import { MeshGrpcCallError } from '../../lib/client/mesh-client.errors.js';
import { meshGrpcInterceptor } from '../../lib/grpc/mesh-grpc.interceptor.js';
import {
  MESH_HANDSHAKE_LOADER_OPTIONS,
  MESH_HANDSHAKE_PROTO_PATH,
} from '../../lib/protocol/grpc/handshake-proto.js';
import { messageBytesOf } from '../../lib/protocol/grpc/message-bytes.js';
import { withMessageBytes } from '../../lib/protocol/grpc/package-definition.js';
import {
  createEphemeralKeyPair,
  createHandshakeNonce,
} from '../../lib/protocol/handshake/ephemeral-keys.js';
import { parseClientHello } from '../../lib/protocol/handshake/hello-codec.js';
import { signWithIdentity } from '../../lib/protocol/handshake/identity-signatures.js';
import { deriveSessionKey } from '../../lib/protocol/handshake/session-key-derivation.js';
import { serverHelloBytes } from '../../lib/protocol/handshake/transcript-encoding.js';

const keys = { caller: generateIdentityKeyPair(), greeter: generateIdentityKeyPair() };
const PROTO = new URL('../support/grpc/greeter.proto', import.meta.url).pathname;
const NOT_FOUND = 'Session not found or expired';
const greeterDefinition = withMessageBytes(loadSync(PROTO));
const { Greet } = greeterDefinition['greeter.v1.Greeter'] as ServiceDefinition;
const handshakeDefinition = withMessageBytes(
  loadSync(MESH_HANDSHAKE_PROTO_PATH, { ...MESH_HANDSHAKE_LOADER_OPTIONS }),
);

type Callback = sendUnaryData<object>;
type Call = ServerUnaryCall<Record<string, unknown>, object>;
const refusal = (code: status, details: string): Partial<ServiceError> => ({ code, details });

/**
 * A gRPC greeter without Nest: the handshake as the protocol defines it, and every call's
 * signature checked against the bytes received.
 */
class FakeGreeter {
  readonly sessions = new Map<string, Buffer>();
  /** Each call: its method, and whether its signature verified. */
  readonly calls: string[] = [];
  opens = 0;
  refuseOpen: Partial<ServiceError> | undefined;
  refuseCalls: Partial<ServiceError> | undefined;
  identityKey = createPrivateKey(keys.greeter.privateKey);
  private readonly server = new Server();
  address = '';

  async start(): Promise<this> {
    this.server.addService(
      handshakeDefinition['mesh_session.v1.MeshHandshake'] as ServiceDefinition,
      { Open: this.open.bind(this), Close: this.close.bind(this) },
    );
    this.server.addService(greeterDefinition['greeter.v1.Greeter'] as ServiceDefinition, {
      Greet: this.greet.bind(this),
    });
    const port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) =>
        error ? reject(error) : resolve(bound),
      ),
    );
    this.address = `127.0.0.1:${port}`;
    return this;
  }

  stop(): void {
    this.server.forceShutdown();
  }

  private open(call: Call, callback: Callback): void {
    this.opens++;
    if (this.refuseOpen) return callback(this.refuseOpen);
    const client = parseClientHello(call.request);
    const ephemeral = createEphemeralKeyPair();
    const reply = {
      sessionId: randomUUID(),
      ephemeralKey: ephemeral.publicKey,
      nonce: createHandshakeNonce(),
      expiresAt: Date.now() + 60_000,
    };
    const key = deriveSessionKey({
      ownPrivateKey: ephemeral.privateKey,
      peerPublicKey: client.ephemeralKey,
      client,
      serverEphemeralKey: reply.ephemeralKey,
      serverNonce: reply.nonce,
    });
    this.sessions.set(reply.sessionId, key);
    const signature = signWithIdentity(serverHelloBytes(client, reply), this.identityKey);
    callback(null, {
      version: 1,
      sessionId: reply.sessionId,
      ephemeralKey: reply.ephemeralKey.toString('base64url'),
      nonce: reply.nonce.toString('base64url'),
      expiresAt: reply.expiresAt,
      signature: signature.toString('base64url'),
    });
  }

  private close(call: Call, callback: Callback): void {
    const sessionId = this.verify(call, callback);
    if (sessionId !== undefined) callback(null, { ended: this.sessions.delete(sessionId) });
  }

  private greet(call: Call, callback: Callback): void {
    if (this.verify(call, callback) === undefined) return;
    if (call.request.name === 'slow') return; // never answers
    callback(null, { message: `Hello, ${String(call.request.name)}` });
  }

  /** The signing session's id, or `undefined` once the call is refused. */
  private verify(call: Call, callback: Callback): string | undefined {
    // The one-entry form of docs/grpc.md, checked here from the page alone.
    const entry = String(call.metadata.get('x-mesh-signature')[0]);
    const [, sessionId = '', created, nonce, mac] =
      /^keyid=([^;]+);created=(\d+);nonce=([\w-]+);sig=(.+)$/.exec(entry) ?? [];
    const key = this.sessions.get(sessionId);
    const bytes = messageBytesOf(call.request) as Buffer;
    const digest = `sha-256=:${createHash('sha256').update(bytes).digest('base64')}:`;
    const params = `("@path" "content-digest");created=${created};nonce="${nonce}";keyid="${sessionId}";alg="hmac-sha256"`;
    const base = `"@path": ${call.getPath()}\n"content-digest": ${digest}\n"@signature-params": ${params}`;
    const valid =
      key !== undefined &&
      call.metadata.get('signature-input').length === 0 &&
      mac === createHmac('sha256', key).update(base).digest('base64');
    this.calls.push(`${call.getPath().split('/')[2]} ${valid ? 'signed' : 'refused'}`);
    if (this.refuseCalls) return void callback(this.refuseCalls);
    if (key === undefined) return void callback(refusal(status.UNAUTHENTICATED, NOT_FOUND));
    if (!valid) return void callback(refusal(status.UNAUTHENTICATED, 'Invalid signature'));
    return sessionId;
  }
}

const grpcTarget = (address: string) => ({
  address,
  protoPath: PROTO,
  service: 'greeter.v1.Greeter',
});

function clientOf(address: string, overrides: Partial<MeshClientModuleOptions> = {}): MeshClient {
  return new MeshClient({
    serviceId: 'caller',
    privateKey: keys.caller.privateKey,
    services: { greeter: { grpc: grpcTarget(address), publicKey: keys.greeter.publicKey } },
    timeout: 2_000,
    ...overrides,
  });
}

let greeter: FakeGreeter;
let client: MeshClient;

beforeEach(async () => {
  greeter = await new FakeGreeter().start();
  client = clientOf(greeter.address);
});

afterEach(async () => {
  greeter.refuseCalls = undefined;
  await client.disconnectAll();
  greeter.stop();
});

describe('MeshClient.call() on a gRPC service', () => {
  it('handshakes over gRPC, then signs the very bytes it sends', async () => {
    const connection = client.connect('greeter');
    await expect(connection.call('Greet', { name: 'World', tags: ['a'] })).resolves.toEqual({
      message: 'Hello, World',
    });
    await expect(connection.call('greet', { name: 'again' })).resolves.toEqual({
      message: 'Hello, again',
    });
    expect(greeter.opens).toBe(1);
    expect(greeter.calls).toEqual(['Greet signed', 'Greet signed']);
    expect(greeter.sessions.has(connection.sessionId as string)).toBe(true);
    expect(inspect(connection)).toMatch(/^GrpcMeshConnection \{ serviceId: 'greeter'/);
  });

  it('shares one handshake between concurrent first calls', async () => {
    const connection = client.connect('greeter');
    const replies = await Promise.all(
      Array.from({ length: 10 }, (_, i) => connection.call('Greet', { name: `n${i}` })),
    );
    expect(replies).toEqual(Array.from({ length: 10 }, (_, i) => ({ message: `Hello, n${i}` })));
    expect(greeter.opens).toBe(1);
  });

  it('handshakes again, once, when the server no longer knows the session', async () => {
    const connection = client.connect('greeter');
    await connection.call('Greet', { name: 'first' });
    const first = connection.sessionId;
    greeter.sessions.clear();
    await expect(connection.call('Greet', { name: 'again' })).resolves.toEqual({
      message: 'Hello, again',
    });
    expect(connection.sessionId).not.toBe(first);
    expect(greeter.opens).toBe(2);
    expect(greeter.calls).toEqual(['Greet signed', 'Greet refused', 'Greet signed']);

    greeter.refuseCalls = refusal(status.UNAUTHENTICATED, NOT_FOUND);
    const error = await connection.call('Greet', {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MeshGrpcCallError);
    expect(greeter.opens).toBe(3);
  });

  it('does not retry any other refusal, which it raises with its status', async () => {
    const trailers = new Metadata();
    trailers.set('retry-after', '7');
    greeter.refuseCalls = { ...refusal(status.RESOURCE_EXHAUSTED, 'Rate limit exceeded') };
    greeter.refuseCalls.metadata = trailers;
    const error = await client
      .connect('greeter')
      .call('Greet', { name: 'x' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MeshGrpcCallError);
    expect(error).toMatchObject({
      serviceId: 'greeter',
      reason: 'grpc',
      method: 'Greet',
      path: '/greeter.v1.Greeter/Greet',
      code: status.RESOURCE_EXHAUSTED,
      details: 'Rate limit exceeded',
      metadata: { 'retry-after': '7' },
      message:
        '/greeter.v1.Greeter/Greet on greeter failed: RESOURCE_EXHAUSTED: Rate limit exceeded',
    });
    expect(greeter.opens).toBe(1);
  });

  it('gives up at the deadline with a timeout error', async () => {
    const quick = clientOf(greeter.address, { timeout: 50 });
    try {
      const error = await quick
        .connect('greeter')
        .call('Greet', { name: 'slow' })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MeshGrpcCallError);
      expect(error).toMatchObject({ reason: 'timeout', code: status.DEADLINE_EXCEEDED });
      expect((error as Error).message).toBe(
        '/greeter.v1.Greeter/Greet on greeter failed: no answer within 50 ms',
      );
    } finally {
      await quick.disconnectAll();
    }
  });

  it.each([
    [status.UNAUTHENTICATED, 'rejected'],
    [status.RESOURCE_EXHAUSTED, 'rate_limited'],
    [status.UNAVAILABLE, 'unavailable'],
    [status.INTERNAL, 'grpc'],
  ])('raises a handshake refused with status %s as %s', async (code, reason) => {
    greeter.refuseOpen = refusal(code, 'No');
    const error = await client
      .connect('greeter')
      .call('Greet', {})
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MeshHandshakeError);
    expect(error).toMatchObject({ reason, code, status: undefined, serviceId: 'greeter' });
  });

  it('refuses a server whose hello is not signed by the pinned key', async () => {
    greeter.identityKey = createPrivateKey(generateIdentityKeyPair().privateKey);
    await expect(client.connect('greeter').connect()).rejects.toMatchObject({
      name: 'MeshHandshakeError',
      reason: 'invalid_reply',
      message: expect.stringMatching(/signature does not verify/),
    });
  });

  it('reports an unreachable server as an unavailable handshake', async () => {
    greeter.stop();
    await expect(client.connect('greeter').connect()).rejects.toMatchObject({
      name: 'MeshHandshakeError',
      reason: 'unavailable',
      code: status.UNAVAILABLE,
    });
  });
});

describe('MeshClient.disconnect() on a gRPC service', () => {
  it('ends the session with a signed Close, and forgets it', async () => {
    const connection = client.connect('greeter');
    await connection.connect();
    expect(greeter.sessions.size).toBe(1);
    expect(await client.disconnect('greeter')).toBe(true);
    expect(greeter.sessions.size).toBe(0);
    expect(greeter.calls).toEqual(['Close signed']);
    expect(connection.sessionId).toBeUndefined();
    expect(await client.disconnect('greeter')).toBe(false);
  });

  it('answers false when the server had already forgotten the session', async () => {
    await client.connect('greeter').connect();
    greeter.sessions.clear();
    expect(await client.disconnect('greeter')).toBe(false);
  });

  it('closes the channel in disconnectAll(); a later call opens a new one', async () => {
    await client.connect('greeter').call('Greet', { name: 'a' });
    await client.disconnectAll();
    await expect(client.connect('greeter').call('Greet', { name: 'b' })).resolves.toEqual({
      message: 'Hello, b',
    });
    expect(greeter.opens).toBe(2);
  });
});

describe('meshGrpcInterceptor() on a grpc-js client', () => {
  const Greeter = (interceptors: Interceptor[]) =>
    new Client(greeter.address, credentials.createInsecure(), { interceptors });
  const greet = (stub: Client, message: object, metadata = new Metadata()) =>
    new Promise((resolve, reject) =>
      stub.makeUnaryRequest(
        '/greeter.v1.Greeter/Greet',
        Greet.requestSerialize,
        Greet.responseDeserialize,
        message,
        metadata,
        (error, reply) => (error ? reject(error) : resolve(reply)),
      ),
    );

  it("signs each call with the client's session, leaving the caller's metadata as it was", async () => {
    const stub = Greeter([meshGrpcInterceptor(client, 'greeter')]);
    const metadata = new Metadata();
    metadata.set('x-trace', 'abc');
    await expect(greet(stub, { name: 'World' }, metadata)).resolves.toEqual({
      message: 'Hello, World',
    });
    await Promise.all([greet(stub, { name: 'a' }), greet(stub, { name: 'b' })]);
    expect(metadata.getMap()).toEqual({ 'x-trace': 'abc' });
    expect(greeter.calls).toEqual(['Greet signed', 'Greet signed', 'Greet signed']);
    expect(greeter.opens).toBe(1);
    stub.close();
  });

  it('retries a unary call once after a new handshake when the session is gone', async () => {
    const stub = Greeter([meshGrpcInterceptor(client, 'greeter')]);
    await greet(stub, { name: 'first' });
    greeter.sessions.clear();
    await expect(greet(stub, { name: 'again' })).resolves.toEqual({ message: 'Hello, again' });
    expect(greeter.calls).toEqual(['Greet signed', 'Greet refused', 'Greet signed']);
    expect(greeter.opens).toBe(2);
    stub.close();
  });

  it('fails a call that cannot be signed with the status of the handshake', async () => {
    greeter.refuseOpen = refusal(status.RESOURCE_EXHAUSTED, 'Too many handshakes');
    const stub = Greeter([meshGrpcInterceptor(client, 'greeter')]);
    await expect(greet(stub, { name: 'x' })).rejects.toMatchObject({
      code: status.RESOURCE_EXHAUSTED,
      details: 'Handshake with greeter failed: RESOURCE_EXHAUSTED: Too many handshakes',
    });
    expect(greeter.calls).toEqual([]);
    stub.close();
  });

  it('is cancelled cleanly while the handshake is still running', async () => {
    const stub = Greeter([meshGrpcInterceptor(client, 'greeter')]);
    const pending = new Promise((resolve) => {
      const call = stub.makeUnaryRequest(
        '/greeter.v1.Greeter/Greet',
        (value: Buffer) => value,
        (bytes: Buffer) => bytes,
        Buffer.alloc(0),
        (error) => resolve(error),
      );
      call.cancel();
    });
    await expect(pending).resolves.toMatchObject({ code: status.CANCELLED });
    stub.close();
  });

  it('refuses a service MeshClient does not know', () => {
    expect(() => meshGrpcInterceptor(client, 'billing')).toThrow(TypeError);
  });
});
