import { inspect } from 'node:util';
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { Test } from '@nestjs/testing';
import {
  generateIdentityKeyPair,
  HandshakeService,
  MeshSessionModule,
  type HandshakeOptions,
  type MeshSessionModuleOptions,
} from '../../lib/index.js';
import { resolveMeshSessionOptions } from '../../lib/options/mesh-session.options.js';

const self = generateIdentityKeyPair();
const peer = generateIdentityKeyPair();
const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });

function withHandshake(
  handshake: Partial<HandshakeOptions> | unknown,
  extra: MeshSessionModuleOptions = {},
) {
  return resolveMeshSessionOptions({
    serviceId: 'greeter',
    ...extra,
    handshake: {
      privateKey: self.privateKey,
      trustedServices: { caller: peer.publicKey },
      ...(handshake as object),
    } as HandshakeOptions,
  });
}

describe('handshake and requestSigning options', () => {
  it('defaults: no handshake and no signing; with a handshake, signing on', () => {
    expect(resolveMeshSessionOptions()).toMatchObject({
      handshake: undefined,
      requestSigning: false,
    });
    const options = withHandshake({});
    expect(options.requestSigning).toBe(true);
    expect(options.handshake).toMatchObject({
      path: '/mesh/handshake',
      maxClockSkew: 60_000,
      rateLimit: { maxRequests: 60, windowMs: 60_000, blockDuration: 60_000 },
    });
    expect(options.handshake?.privateKey.asymmetricKeyType).toBe('ed25519');
    expect(options.handshake?.trustedServices.get('caller')).toHaveLength(1);
  });

  it('lets requestSigning be set either way, with or without a handshake', () => {
    expect(resolveMeshSessionOptions({ requestSigning: true }).requestSigning).toBe(true);
    expect(withHandshake({}, { requestSigning: false }).requestSigning).toBe(false);
  });

  it('accepts KeyObjects, several keys per service, a Map, and its own output', () => {
    const options = withHandshake({
      privateKey: createPrivateKey(self.privateKey),
      trustedServices: new Map([
        ['caller', [peer.publicKey, createPublicKey(generateIdentityKeyPair().publicKey)]],
      ]),
      path: '/internal/mesh',
      maxClockSkew: 5_000,
      rateLimit: false,
    });
    expect(options.handshake?.trustedServices.get('caller')).toHaveLength(2);
    expect(
      resolveMeshSessionOptions(options as unknown as MeshSessionModuleOptions).handshake,
    ).toEqual(options.handshake);
  });

  it('never shows a key when the resolved options are printed', () => {
    const options = withHandshake({});
    const body = self.privateKey.split('\n')[1];
    expect(JSON.stringify(options)).not.toContain(body);
    expect(inspect(options, { depth: 5 })).not.toContain(body);
  });

  it('refuses a handshake that is not an object', () => {
    expect(() =>
      resolveMeshSessionOptions({
        serviceId: 'greeter',
        handshake: 'yes' as unknown as HandshakeOptions,
      }),
    ).toThrow(/option "handshake" must be an object/);
  });

  it.each<[string, unknown, MeshSessionModuleOptions, RegExp]>([
    ['no serviceId', {}, { serviceId: undefined }, /"serviceId"/],
    ['a public key as privateKey', { privateKey: self.publicKey }, {}, /"handshake.privateKey"/],
    ['an RSA privateKey', { privateKey: rsa.privateKey }, {}, /"handshake.privateKey"/],
    ['garbage privateKey', { privateKey: 'not a key' }, {}, /"handshake.privateKey"/],
    ['no trustedServices', { trustedServices: undefined }, {}, /"handshake.trustedServices"/],
    [
      'a private key as trusted key',
      { trustedServices: { caller: peer.privateKey } },
      {},
      /"handshake.trustedServices\["caller"\]"/,
    ],
    [
      'a bad key in a list',
      { trustedServices: { caller: [peer.publicKey, 'x'] } },
      {},
      /"handshake.trustedServices\["caller"\]\[1\]"/,
    ],
    [
      'an empty key list',
      { trustedServices: { caller: [] } },
      {},
      /"handshake.trustedServices\["caller"\]"/,
    ],
    [
      'an RSA public key',
      { trustedServices: { caller: rsa.publicKey } },
      {},
      /"handshake.trustedServices\["caller"\]"/,
    ],
    ['a path with a parameter', { path: '/mesh/:id' }, {}, /"handshake.path"/],
    ['a relative path', { path: 'mesh' }, {}, /"handshake.path"/],
    ['a zero skew', { maxClockSkew: 0 }, {}, /"handshake.maxClockSkew"/],
    ['a fractional skew', { maxClockSkew: 1.5 }, {}, /"handshake.maxClockSkew"/],
    [
      'a bad rate limit',
      { rateLimit: { maxRequests: 0, windowMs: 1 } },
      {},
      /"handshake.rateLimit.maxRequests"/,
    ],
    [
      'a bad rate window',
      { rateLimit: { maxRequests: 1, windowMs: -1 } },
      {},
      /"handshake.rateLimit.windowMs"/,
    ],
    [
      'a non-boolean requestSigning',
      {},
      { requestSigning: 'yes' as unknown as boolean },
      /"requestSigning"/,
    ],
  ])('refuses %s, naming the option', (_name, handshake, extra, option) => {
    expect(() => withHandshake(handshake, extra)).toThrow(option);
    try {
      withHandshake(handshake, extra);
    } catch (error) {
      // The message describes a bad value by its type and size, never by its content.
      expect((error as Error).message).not.toContain('PRIVATE KEY');
    }
  });
});

describe('MeshSessionModule handshake registration', () => {
  const handshake = { privateKey: self.privateKey, trustedServices: { caller: peer.publicKey } };

  it('provides HandshakeService with forRoot({ handshake })', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        MeshSessionModule.forRoot({ serviceId: 'greeter', cleanupInterval: false, handshake }),
      ],
    }).compile();
    expect(moduleRef.get(HandshakeService)).toBeInstanceOf(HandshakeService);
    await moduleRef.close();
  });

  it('serves the handshake from forRootAsync options alone, and nothing without them', async () => {
    for (const withHandshake of [true, false]) {
      const moduleRef = await Test.createTestingModule({
        imports: [
          MeshSessionModule.forRootAsync({
            useFactory: () => ({
              serviceId: 'greeter',
              cleanupInterval: false as const,
              ...(withHandshake ? { handshake } : {}),
            }),
          }),
        ],
      }).compile();
      const service = moduleRef.get(HandshakeService, { strict: false });
      expect(service === null).toBe(!withHandshake);
      await moduleRef.close();
    }
  });

  it('fails at startup on an unknown handshake key, naming the closest known one', async () => {
    await expect(
      Test.createTestingModule({
        imports: [
          MeshSessionModule.forRootAsync({
            useFactory: () => ({
              serviceId: 'greeter',
              handshake: { ...handshake, pth: '/x' } as typeof handshake,
            }),
          }),
        ],
      }).compile(),
    ).rejects.toThrow(
      'MeshSessionModule: unknown option "handshake.pth"; did you mean "handshake.path"?',
    );
  });
});
