import { randomBytes } from 'node:crypto';
import { generateIdentityKeyPair, RateLimiter, type RateLimiterOptions } from '../../lib/index.js';
import {
  MODULE_OPTION_CHECKS,
  resolveMeshSessionOptions,
} from '../../lib/options/mesh-session.options.js';
import { resolveMeshClientOptions } from '../../lib/client/mesh-client.options.js';
import { RedisSessionStore } from '../../lib/redis.js';
import { MAX_TIMER_MS } from '../../lib/core/option-checks.js';
import { ROUTE_PATH } from '../../lib/protocol/handshake/handshake.constants.js';
import {
  findRateLimiterOptionsProblem,
  resolveRateLimiterOptions,
} from '../../lib/core/rate-limiter-options.js';

const self = generateIdentityKeyPair();
const peer = generateIdentityKeyPair();

/** The three places that take rate-limit options, each with the name it reports. */
const consumers: [string, (limit: unknown) => unknown, string][] = [
  [
    'the module option',
    (rateLimit) => resolveMeshSessionOptions({ rateLimit } as never),
    'rateLimit',
  ],
  [
    'the handshake option',
    (rateLimit) =>
      resolveMeshSessionOptions({
        serviceId: 'greeter',
        handshake: {
          privateKey: self.privateKey,
          trustedServices: { caller: peer.publicKey },
          rateLimit,
        } as never,
      }),
    'handshake.rateLimit',
  ],
  ['the RateLimiter constructor', (limit) => new RateLimiter(limit as RateLimiterOptions), ''],
];

describe('rate-limit options: one validator for every consumer', () => {
  it.each([
    [{ maxRequests: 0, windowMs: 1_000 }, 'maxRequests', 'an integer of at least 1'],
    [{ maxRequests: 1.5, windowMs: 1_000 }, 'maxRequests', 'an integer of at least 1'],
    [{ windowMs: 1_000 }, 'maxRequests', 'an integer of at least 1'],
    [{ maxRequests: 1, windowMs: 0 }, 'windowMs', 'a positive integer number of milliseconds'],
    [
      { maxRequests: 1, windowMs: 2 ** 53 },
      'windowMs',
      'a positive integer number of milliseconds',
    ],
    [{ maxRequests: 1, windowMs: '1000' }, 'windowMs', 'a positive integer number of milliseconds'],
    [
      { maxRequests: 1, windowMs: 10, blockDuration: -1 },
      'blockDuration',
      'a positive integer number of milliseconds',
    ],
  ])('finds the same problem in %j everywhere', (limit, field, expected) => {
    expect(findRateLimiterOptionsProblem(limit)).toEqual({
      field,
      expected,
      got: (limit as Record<string, unknown>)[field],
    });
    for (const [, consume, prefix] of consumers) {
      const name = prefix === '' ? field : `${prefix}.${field}`;
      expect(() => consume(limit)).toThrow(`"${name}" must be ${expected}`);
    }
  });

  it('refuses options that are not an object, naming the option', () => {
    expect(findRateLimiterOptionsProblem(null)?.field).toBeUndefined();
    expect(() => resolveRateLimiterOptions(MODULE_OPTION_CHECKS, 'handshake.rateLimit', 5)).toThrow(
      'option "handshake.rateLimit" must be false or { maxRequests, windowMs, blockDuration? }',
    );
    expect(() => new RateLimiter(null as never)).toThrow(TypeError);
  });

  it('fills blockDuration with windowMs, for the module and the handshake alike', () => {
    const limit = { maxRequests: 5, windowMs: 1_000 };
    const expected = { maxRequests: 5, windowMs: 1_000, blockDuration: 1_000 };
    expect(resolveRateLimiterOptions(MODULE_OPTION_CHECKS, 'rateLimit', limit)).toEqual(expected);
    expect(resolveMeshSessionOptions({ rateLimit: limit }).rateLimit).toEqual(expected);
    const handshake = consumers[1][1](limit) as ReturnType<typeof resolveMeshSessionOptions>;
    expect(handshake.handshake?.rateLimit).toEqual(expected);
    expect(
      resolveRateLimiterOptions(MODULE_OPTION_CHECKS, 'rateLimit', {
        ...limit,
        blockDuration: 9_000,
      }).blockDuration,
    ).toBe(9_000);
  });
});

describe('unknown rate-limit keys', () => {
  it('fails naming the key and the closest known one, wherever the options come from', () => {
    expect(() =>
      resolveMeshSessionOptions({ rateLimit: { maxRequests: 5, windowMS: 1_000 } as never }),
    ).toThrow(
      'MeshSessionModule: unknown option "rateLimit.windowMS"; did you mean "rateLimit.windowMs"?',
    );
    expect(() => new RateLimiter({ maxRequest: 5, windowMs: 1_000 } as never)).toThrow(
      'Argument "maxRequest" must be absent (did you mean "maxRequests"?)',
    );
  });
});

describe('shared constants', () => {
  it('caps every timer option at MAX_TIMER_MS, the longest setTimeout delay', () => {
    expect(MAX_TIMER_MS).toBe(2 ** 31 - 1);
    const client = (timeout: number) =>
      resolveMeshClientOptions({
        serviceId: 'caller',
        privateKey: self.privateKey,
        services: { greeter: { url: 'http://greeter', publicKey: peer.publicKey } },
        timeout,
      });
    const redis = (commandTimeout: number) =>
      new RedisSessionStore({
        url: 'redis://127.0.0.1:1',
        encryptionKeys: [randomBytes(32)],
        commandTimeout,
      });
    const checks: [(ms: number) => unknown, string][] = [
      [client, 'timeout'],
      [redis, 'commandTimeout'],
      [(ms) => resolveMeshSessionOptions({ storeTimeout: ms }), 'storeTimeout'],
      [(ms) => resolveMeshSessionOptions({ cleanupInterval: ms }), 'cleanupInterval'],
    ];
    for (const [check, option] of checks) {
      expect(() => check(MAX_TIMER_MS + 1)).toThrow(`"${option}"`);
    }
    expect(client(MAX_TIMER_MS).timeout).toBe(MAX_TIMER_MS);
    expect(resolveMeshSessionOptions({ storeTimeout: MAX_TIMER_MS }).storeTimeout).toBe(
      MAX_TIMER_MS,
    );
  });

  it.each(['/mesh/handshake', '/a', '/v1.2/x_y~z-w'])(
    'takes %s as a handshake path on the server and on the client',
    (path) => {
      expect(ROUTE_PATH.test(path)).toBe(true);
      expect(server(path).handshake?.path).toBe(path);
      expect(clientPath(path)).toBe(path);
    },
  );

  it.each(['mesh', '/', '/a/', '/:id', '/a/*', '/a b', '/a?x=1', '//a'])(
    'refuses %s as a handshake path on the server and on the client',
    (path) => {
      expect(ROUTE_PATH.test(path)).toBe(false);
      expect(() => server(path)).toThrow('"handshake.path"');
      expect(() => clientPath(path)).toThrow('handshakePath');
    },
  );
});

function server(path: string): ReturnType<typeof resolveMeshSessionOptions> {
  return resolveMeshSessionOptions({
    serviceId: 'greeter',
    handshake: { privateKey: self.privateKey, trustedServices: { caller: peer.publicKey }, path },
  });
}

function clientPath(handshakePath: string): string | undefined {
  return resolveMeshClientOptions({
    serviceId: 'caller',
    privateKey: self.privateKey,
    services: { greeter: { url: 'http://greeter', publicKey: peer.publicKey, handshakePath } },
  }).services.get('greeter')?.handshakePath;
}
