import { Test } from '@nestjs/testing';
import {
  MemorySessionStore,
  MESH_SESSION_DEFAULTS,
  MeshSessionModule,
  type MeshSessionModuleOptions,
} from '../../lib/index.js';
import { resolveMeshSessionOptions } from '../../lib/options/mesh-session.options.js';

describe('resolveMeshSessionOptions', () => {
  it('applies the documented defaults', () => {
    const options = resolveMeshSessionOptions();
    expect(options).toMatchObject({
      serviceId: undefined,
      sessionTimeout: 3_600_000,
      maxSessionLifetime: undefined,
      cleanupInterval: 300_000,
      sessionHeader: 'x-mesh-session-id',
      store: undefined,
      rateLimit: false,
      storeTimeout: 2_000,
      health: { maxActiveSessions: 1000 },
      monitoring: undefined,
    });
    expect(MESH_SESSION_DEFAULTS.sessionTimeout).toBe(3_600_000);
  });

  it('lower-cases the header, defaults blockDuration to windowMs and accepts cleanupInterval false', () => {
    const options = resolveMeshSessionOptions({
      sessionHeader: 'X-Service-Session',
      rateLimit: { maxRequests: 5, windowMs: 1000 },
      cleanupInterval: false,
    });
    expect(options.sessionHeader).toBe('x-service-session');
    expect(options.rateLimit).toEqual({ maxRequests: 5, windowMs: 1000, blockDuration: 1000 });
    expect(options.cleanupInterval).toBe(false);
  });

  it.each<[string, MeshSessionModuleOptions, string]>([
    ['negative sessionTimeout', { sessionTimeout: -1 }, 'sessionTimeout'],
    ['zero sessionTimeout', { sessionTimeout: 0 }, 'sessionTimeout'],
    ['fractional sessionTimeout', { sessionTimeout: 1.5 }, 'sessionTimeout'],
    ['string sessionTimeout', { sessionTimeout: '100' as never }, 'sessionTimeout'],
    ['zero maxSessionLifetime', { maxSessionLifetime: 0 }, 'maxSessionLifetime'],
    [
      'maxSessionLifetime below sessionTimeout',
      { sessionTimeout: 10_000, maxSessionLifetime: 9_999 },
      'maxSessionLifetime',
    ],
    ['zero cleanupInterval', { cleanupInterval: 0 }, 'cleanupInterval'],
    ['cleanupInterval true', { cleanupInterval: true as never }, 'cleanupInterval'],
    ['huge cleanupInterval', { cleanupInterval: 2 ** 31 }, 'cleanupInterval'],
    ['empty sessionHeader', { sessionHeader: '' }, 'sessionHeader'],
    ['sessionHeader with a space', { sessionHeader: 'x session' }, 'sessionHeader'],
    ['a store that is not a SessionStore', { store: {} as never }, 'store'],
    ['maxRequests 0', { rateLimit: { maxRequests: 0, windowMs: 1000 } }, 'rateLimit.maxRequests'],
    [
      'fractional maxRequests',
      { rateLimit: { maxRequests: 1.5, windowMs: 1000 } },
      'rateLimit.maxRequests',
    ],
    ['negative windowMs', { rateLimit: { maxRequests: 1, windowMs: -5 } }, 'rateLimit.windowMs'],
    [
      'zero blockDuration',
      { rateLimit: { maxRequests: 1, windowMs: 5, blockDuration: 0 } },
      'rateLimit.blockDuration',
    ],
    ['rateLimit true', { rateLimit: true as never }, 'rateLimit'],
    ['zero storeTimeout', { storeTimeout: 0 }, 'storeTimeout'],
    ['zero maxActiveSessions', { health: { maxActiveSessions: 0 } }, 'health.maxActiveSessions'],
    ['adapters not an array', { monitoring: { adapters: {} as never } }, 'monitoring.adapters'],
    [
      'an adapter without logEvent',
      { monitoring: { adapters: [{} as never] } },
      'monitoring.adapters[0]',
    ],
    ['empty serviceId', { serviceId: '' }, 'serviceId'],
  ])('rejects %s, naming the option', (_label, options, name) => {
    expect(() => resolveMeshSessionOptions(options)).toThrow(`option "${name}"`);
  });

  it('makes startup fail with an error naming the option (forRoot)', async () => {
    await expect(
      Test.createTestingModule({
        imports: [MeshSessionModule.forRoot({ sessionTimeout: -5, cleanupInterval: false })],
      }).compile(),
    ).rejects.toThrow('option "sessionTimeout"');
  });

  it('makes startup fail with an error naming the option (forRootAsync)', async () => {
    await expect(
      Test.createTestingModule({
        imports: [
          MeshSessionModule.forRootAsync({
            useFactory: () => ({ sessionHeader: '', cleanupInterval: false as const }),
          }),
        ],
      }).compile(),
    ).rejects.toThrow('option "sessionHeader"');
  });

  it('accepts a SessionStore instance', () => {
    const store = new MemorySessionStore();
    expect(resolveMeshSessionOptions({ store }).store).toBe(store);
  });
});
