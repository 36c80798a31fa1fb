import { credentials } from '@grpc/grpc-js';
import {
  generateIdentityKeyPair,
  MeshClient,
  MeshClientError,
  type MeshClientModuleOptions,
} from '../../lib/index.js';
import type { MeshGrpcServiceOptions } from '../../lib/client/grpc-service.options.js';
import { loadGrpcPeers } from '../../lib/client/grpc-peers.js';
import { resolveMeshClientOptions } from '../../lib/client/mesh-client.options.js';
import { MeshClientMessages } from '../../lib/client/mesh-client.messages.js';

const self = generateIdentityKeyPair();
const greeter = generateIdentityKeyPair();
const PROTO = new URL('../support/grpc/greeter.proto', import.meta.url).pathname;

const grpcService = (grpc: Record<string, unknown> = {}): MeshGrpcServiceOptions => ({
  grpc: { address: '127.0.0.1:50051', protoPath: PROTO, service: 'greeter.v1.Greeter', ...grpc },
  publicKey: greeter.publicKey,
});

const options = (service: unknown = grpcService()): MeshClientModuleOptions => ({
  serviceId: 'caller',
  privateKey: self.privateKey,
  services: { greeter: service as MeshGrpcServiceOptions },
});

function messageOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    return (error as Error).message;
  }
  return undefined;
}

describe('MeshClient options for a gRPC service', () => {
  it('resolves a gRPC service with its defaults, next to an HTTP one', () => {
    const secure = credentials.createSsl();
    const resolved = resolveMeshClientOptions({
      ...options(
        grpcService({
          protoPath: [PROTO],
          loader: { keepCase: true, longs: String, includeDirs: ['/protos'] },
          credentials: secure,
          channelOptions: { 'grpc.keepalive_time_ms': 10_000 },
        }),
      ),
      services: {
        greeter: grpcService(),
        billing: { url: 'http://billing:3000', publicKey: greeter.publicKey },
      },
    });
    expect(resolved.services.get('greeter')).toMatchObject({
      transport: 'grpc',
      id: 'greeter',
      address: '127.0.0.1:50051',
      protoPath: [PROTO],
      service: 'greeter.v1.Greeter',
      loader: {},
      credentials: undefined,
      channelOptions: {},
      handshakePath: '/mesh_session.v1.MeshHandshake/Open',
    });
    expect(resolved.services.get('billing')).toMatchObject({ transport: 'http' });
    const custom = resolveMeshClientOptions(
      options(
        grpcService({
          loader: { keepCase: true, longs: String },
          credentials: secure,
          channelOptions: { 'grpc.keepalive_time_ms': 10_000 },
        }),
      ),
    ).services.get('greeter');
    expect(custom).toMatchObject({
      loader: { keepCase: true, longs: String },
      credentials: secure,
      channelOptions: { 'grpc.keepalive_time_ms': 10_000 },
    });
  });

  it.each<[string, unknown, string]>([
    ['an HTTP URL as address', grpcService({ address: 'http://g:50051' }), 'grpc.address'],
    ['an empty address', grpcService({ address: '' }), 'grpc.address'],
    ['no protoPath', grpcService({ protoPath: undefined }), 'grpc.protoPath'],
    ['an empty protoPath list', grpcService({ protoPath: [] }), 'grpc.protoPath'],
    ['a bare service name with a slash', grpcService({ service: 'greeter/Greet' }), 'grpc.service'],
    ['a non-boolean loader flag', grpcService({ loader: { keepCase: 'yes' } }), 'loader.keepCase'],
    [
      'a loader longs that is no type',
      grpcService({ loader: { longs: 'String' } }),
      'loader.longs',
    ],
    ['includeDirs that is no list', grpcService({ loader: { includeDirs: '/x' } }), 'includeDirs'],
    ['credentials that are no credentials', grpcService({ credentials: {} }), 'grpc.credentials'],
    ['channel options that are a list', grpcService({ channelOptions: [] }), 'channelOptions'],
    ['grpc that is no object', { grpc: 'g:1', publicKey: greeter.publicKey }, '.grpc"'],
    ['a bad public key', { ...grpcService(), publicKey: 'x' }, '.publicKey"'],
  ])('refuses %s, naming the option', (_name, service, option) => {
    const message = messageOf(() => resolveMeshClientOptions(options(service)));
    expect(message).toMatch(/^MeshClientModule: option "services\["greeter"\]/);
    expect(message).toContain(option);
  });

  it.each<[string, unknown, string]>([
    [
      'a misspelt grpc key',
      { grcp: grpcService().grpc, publicKey: greeter.publicKey },
      'unknown option "services["greeter"].grcp"; did you mean "services["greeter"].grpc"?',
    ],
    [
      'a misspelt target key',
      grpcService({ adress: 'g:1' }),
      'unknown option "services["greeter"].grpc.adress"; did you mean "services["greeter"].grpc.address"?',
    ],
    [
      'a misspelt loader key',
      grpcService({ loader: { keepcase: true } }),
      'unknown option "services["greeter"].grpc.loader.keepcase"; did you mean "services["greeter"].grpc.loader.keepCase"?',
    ],
    [
      'url next to grpc',
      { ...grpcService(), url: 'http://g' },
      'unknown option "services["greeter"].url"',
    ],
    [
      'an HTTP handshake path on a gRPC service',
      { ...grpcService(), handshakePath: '/x' },
      'unknown option "services["greeter"].handshakePath"',
    ],
  ])('refuses %s, naming it and the closest known option', (_name, service, message) => {
    expect(messageOf(() => resolveMeshClientOptions(options(service)))).toBe(
      `MeshClientModule: ${message}`,
    );
  });
});

describe('MeshClient options: one service under two keys', () => {
  it('proves the service id given by serviceId, and the key otherwise', () => {
    const resolved = resolveMeshClientOptions({
      serviceId: 'caller',
      privateKey: self.privateKey,
      services: {
        greeter: { url: 'http://greeter:3000', publicKey: greeter.publicKey },
        'greeter-grpc': { ...grpcService(), serviceId: 'greeter' },
      },
    });
    expect(resolved.services.get('greeter')).toMatchObject({ id: 'greeter', serverId: 'greeter' });
    expect(resolved.services.get('greeter-grpc')).toMatchObject({
      id: 'greeter-grpc',
      serverId: 'greeter',
    });
  });

  it.each([[''], ['x'.repeat(256)], [42]])('refuses serviceId %j, naming it', (serviceId) => {
    expect(
      messageOf(() => resolveMeshClientOptions(options({ ...grpcService(), serviceId }))),
    ).toMatch(
      /^MeshClientModule: option "services\["greeter"\]\.serviceId" must be a service id of 1 to 255 characters; got /,
    );
    expect(
      messageOf(() =>
        resolveMeshClientOptions(
          options({ url: 'http://greeter:3000', publicKey: greeter.publicKey, serviceId }),
        ),
      ),
    ).toMatch(/"services\["greeter"\]\.serviceId" must be a service id/);
  });
});

describe('MeshClient on a gRPC service, before anything is sent', () => {
  const client = new MeshClient({ ...options(), timeout: 1_000 });
  const connection = client.connect('greeter');
  afterAll(() => client.disconnectAll());

  it('refuses request(), which is HTTP-only, and sends nothing', async () => {
    await expect(connection.request({ path: '/greet' })).rejects.toThrow(
      new TypeError(MeshClientMessages.clientRequestOnGrpc('greeter')),
    );
    expect(connection.sessionId).toBeUndefined();
  });

  it('refuses a method the service does not have, listing the unary ones', async () => {
    await expect(connection.call('Nope', {})).rejects.toThrow(
      'Argument "method" must be a unary method of greeter.v1.Greeter (Greet, Whoami, Public); got a string of 4 characters',
    );
    await expect(connection.call('greet/x')).rejects.toThrow(/"method" must be a gRPC method name/);
    expect(connection.sessionId).toBeUndefined();
  });

  it('refuses a request that is not a message object', async () => {
    await expect(connection.call('Greet', 'World')).rejects.toThrow(
      /"data" must be a request message for \/greeter.v1.Greeter\/Greet/,
    );
    await expect(connection.call('Greet', { tags: 'not a list' })).rejects.toThrow(TypeError);
  });

  it('says which .proto files do not load, and which services they define', async () => {
    const missing = new MeshClient(options(grpcService({ protoPath: '/nowhere/x.proto' })));
    const error = await missing
      .connect('greeter')
      .call('Greet', {})
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MeshClientError);
    expect((error as Error).message).toMatch(/^Could not load the \.proto files of greeter: /);

    const other = new MeshClient(options(grpcService({ service: 'greeter.v1.Other' })));
    await expect(other.connect('greeter').call('Greet', {})).rejects.toThrow(
      'The .proto files of greeter define no service greeter.v1.Other (services: greeter.v1.Greeter)',
    );
  });

  it('says what to install when the gRPC peers are missing', async () => {
    const notFound = Object.assign(new Error("Cannot find package '@grpc/grpc-js'"), {
      code: 'ERR_MODULE_NOT_FOUND',
    });
    const error = await loadGrpcPeers('greeter', () => Promise.reject(notFound)).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(MeshClientError);
    expect(error).toMatchObject({
      serviceId: 'greeter',
      message: MeshClientMessages.clientGrpcMissing('greeter'),
      cause: notFound,
    });
    expect((error as Error).message).toContain('npm install @grpc/grpc-js @grpc/proto-loader');
  });

  it('loads the peers from their CommonJS exports', async () => {
    const { grpc, protoLoader } = await loadGrpcPeers('greeter');
    expect(typeof grpc.Client).toBe('function');
    expect(typeof protoLoader.load).toBe('function');
  });
});
