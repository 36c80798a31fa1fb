import { Test } from '@nestjs/testing';
import {
  generateIdentityKeyPair,
  MeshClient,
  MeshClientModule,
  MeshConnection,
  type MeshClientModuleOptions,
} from '../../lib/index.js';
import { resolveMeshClientOptions } from '../../lib/client/mesh-client.options.js';

const self = generateIdentityKeyPair();
const greeter = generateIdentityKeyPair();

const valid = (): MeshClientModuleOptions => ({
  serviceId: 'caller',
  privateKey: self.privateKey,
  services: { greeter: { url: 'http://greeter:3000/api/', publicKey: greeter.publicKey } },
});

describe('MeshClient options', () => {
  it('applies defaults and normalises the service URL', () => {
    const options = resolveMeshClientOptions(valid());
    expect(options.timeout).toBe(10_000);
    expect(options.services.get('greeter')).toMatchObject({
      id: 'greeter',
      url: 'http://greeter:3000/api',
      handshakePath: '/mesh/handshake',
    });
    expect(options.privateKey.asymmetricKeyType).toBe('ed25519');
  });

  it.each<[string, (o: MeshClientModuleOptions) => unknown, RegExp]>([
    ['no serviceId', (o) => ({ ...o, serviceId: '' }), /"serviceId"/],
    [
      'a public key as privateKey',
      (o) => ({ ...o, privateKey: greeter.publicKey }),
      /"privateKey"/,
    ],
    ['a zero timeout', (o) => ({ ...o, timeout: 0 }), /"timeout"/],
    ['a non-function fetch', (o) => ({ ...o, fetch: 'x' }), /"fetch"/],
    ['no services', (o) => ({ ...o, services: null }), /"services"/],
    [
      'a bad URL',
      (o) => ({ ...o, services: { greeter: { url: 'greeter', publicKey: greeter.publicKey } } }),
      /"services\["greeter"\].url"/,
    ],
    [
      'an ftp URL',
      (o) => ({ ...o, services: { greeter: { url: 'ftp://g', publicKey: greeter.publicKey } } }),
      /"services\["greeter"\].url"/,
    ],
    [
      'a URL with a query',
      (o) => ({
        ...o,
        services: { greeter: { url: 'http://g/?a=1', publicKey: greeter.publicKey } },
      }),
      /"services\["greeter"\].url"/,
    ],
    [
      'a URL with credentials',
      (o) => ({
        ...o,
        services: { greeter: { url: 'http://u:p@g/', publicKey: greeter.publicKey } },
      }),
      /"services\["greeter"\].url"/,
    ],
    [
      'a private key as publicKey',
      (o) => ({ ...o, services: { greeter: { url: 'http://g', publicKey: self.privateKey } } }),
      /"services\["greeter"\].publicKey"/,
    ],
    [
      'a bad key in a list',
      (o) => ({
        ...o,
        services: { greeter: { url: 'http://g', publicKey: [greeter.publicKey, 'x'] } },
      }),
      /"services\["greeter"\].publicKey\[1\]"/,
    ],
    [
      'a bad handshakePath',
      (o) => ({
        ...o,
        services: {
          greeter: { url: 'http://g', publicKey: greeter.publicKey, handshakePath: 'x' },
        },
      }),
      /"services\["greeter"\].handshakePath"/,
    ],
  ])('refuses %s, naming the option', (_name, change, option) => {
    expect(() => resolveMeshClientOptions(change(valid()) as MeshClientModuleOptions)).toThrow(
      option,
    );
    expect(() => resolveMeshClientOptions(change(valid()) as MeshClientModuleOptions)).toThrow(
      /^MeshClientModule: option/,
    );
  });

  it.each<[string, (o: MeshClientModuleOptions) => unknown, string]>([
    [
      'a misspelt top-level option',
      (o) => ({ ...o, timout: 5_000 }),
      'MeshClientModule: unknown option "timout"; did you mean "timeout"?',
    ],
    [
      'a misspelt service option',
      (o) => ({
        ...o,
        services: {
          billing: { url: 'http://b', publicKey: greeter.publicKey, handshakPath: '/x' },
        },
      }),
      'MeshClientModule: unknown option "services["billing"].handshakPath"; did you mean "services["billing"].handshakePath"?',
    ],
    [
      'a client option set on a service',
      (o) => ({
        ...o,
        services: { billing: { url: 'http://b', publicKey: greeter.publicKey, timeout: 5 } },
      }),
      'MeshClientModule: unknown option "services["billing"].timeout"',
    ],
    [
      'an unknown option with no close match',
      (o) => ({ ...o, proxy: 'http://p' }),
      'MeshClientModule: unknown option "proxy"',
    ],
  ])('refuses %s, naming it and the closest known option', (_name, change, message) => {
    let error: unknown;
    try {
      resolveMeshClientOptions(change(valid()) as MeshClientModuleOptions);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toBe(message);
  });

  it('checks unknown options before values, so that a typo is named rather than its effect', () => {
    const misspelt: Record<string, unknown> = { ...valid(), serviceID: 'caller' };
    delete misspelt.serviceId;
    expect(() => resolveMeshClientOptions(misspelt as unknown as MeshClientModuleOptions)).toThrow(
      'MeshClientModule: unknown option "serviceID"; did you mean "serviceId"?',
    );
  });

  it('gives one connection per service, and nothing is sent before a call', () => {
    const client = new MeshClient(valid());
    const connection = client.connect('greeter');
    expect(connection).toBeInstanceOf(MeshConnection);
    expect(client.connect('greeter')).toBe(connection);
    expect(connection.sessionId).toBeUndefined();
    expect(() => client.connect('billing')).toThrow(TypeError);
  });

  it('refuses a body on GET or HEAD before sending anything', async () => {
    const connection = new MeshClient(valid()).connect('greeter');
    await expect(connection.request({ path: '/x', body: { a: 1 } })).rejects.toThrow(/"init.body"/);
    await expect(connection.request({ method: 'head', path: '/x', body: 'a' })).rejects.toThrow(
      TypeError,
    );
    expect(connection.sessionId).toBeUndefined();
  });

  it('refuses an empty method name in call()', async () => {
    await expect(new MeshClient(valid()).connect('greeter').call('')).rejects.toThrow(/"method"/);
  });
});

describe('MeshClientModule', () => {
  it('provides MeshClient with forRoot', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [MeshClientModule.forRoot(valid())],
    }).compile();
    expect(moduleRef.get(MeshClient).options.serviceId).toBe('caller');
    await moduleRef.close();
  });

  it('provides MeshClient with forRootAsync, globally with isGlobal', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [MeshClientModule.forRootAsync({ isGlobal: true, useFactory: async () => valid() })],
    }).compile();
    expect(moduleRef.get(MeshClient).options.services.has('greeter')).toBe(true);
    await moduleRef.close();
  });

  it('fails at startup on a bad option, naming it', async () => {
    await expect(
      Test.createTestingModule({
        imports: [MeshClientModule.forRoot({ ...valid(), timeout: -5 })],
      }).compile(),
    ).rejects.toThrow(/option "timeout"/);
  });

  it('does not take the isGlobal extra for an unknown option', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [MeshClientModule.forRoot({ ...valid(), isGlobal: true })],
    }).compile();
    expect(moduleRef.get(MeshClient).options.serviceId).toBe('caller');
    await moduleRef.close();
  });
});
