import type { KeyObject } from 'node:crypto';
import { MAX_SERVICE_ID_LENGTH } from '../core/session.constants.js';
import { ROUTE_PATH } from '../protocol/handshake/handshake.constants.js';
import type { OptionChecks } from '../core/option-checks.js';
import type { RateLimiterOptions } from '../core/rate-limiter-options.js';
import { resolveRateLimiterOptions } from '../core/rate-limiter-options.js';
import {
  DEFAULT_HANDSHAKE_PATH,
  DEFAULT_HANDSHAKE_RATE_LIMIT,
  DEFAULT_MAX_CLOCK_SKEW,
} from '../protocol/handshake/handshake.constants.js';
import {
  loadPrivateIdentityKey,
  loadPublicIdentityKey,
  type IdentityKeyInput,
} from '../protocol/handshake/identity-keys.js';

/**
 * The module's `handshake` option: this service's identity and the identities it trusts.
 * Identity keys come from here only, never from a request.
 *
 * @example
 * ```ts
 * MeshSessionModule.forRoot({
 *   serviceId: 'greeter',
 *   handshake: {
 *     privateKey: process.env.GREETER_PRIVATE_KEY,
 *     trustedServices: {
 *       caller: [process.env.CALLER_PUBLIC_KEY, process.env.CALLER_NEXT_PUBLIC_KEY],
 *     },
 *   },
 * });
 * ```
 */
export interface HandshakeOptions {
  /** This service's Ed25519 private key (PEM, PKCS#8), which signs every handshake reply. */
  privateKey: IdentityKeyInput;
  /**
   * The services allowed to open sessions, each with its Ed25519 public key (PEM, SPKI), or
   * several keys while one is being rotated.
   */
  trustedServices:
    | Record<string, IdentityKeyInput | readonly IdentityKeyInput[]>
    | ReadonlyMap<string, IdentityKeyInput | readonly IdentityKeyInput[]>;
  /**
   * Path of the handshake endpoint. `POST` opens a session, a signed `DELETE` ends it.
   *
   * @default '/mesh/handshake'
   */
  path?: string;
  /**
   * How far a handshake timestamp, or a signed request's `created`, may be from this server's
   * clock (ms).
   *
   * @default 60_000
   */
  maxClockSkew?: number;
  /**
   * Rate limit of the handshake endpoint per peer address, or `false` for none.
   *
   * @default { maxRequests: 60, windowMs: 60_000 }
   */
  rateLimit?: RateLimiterOptions | false;
  /**
   * Failed hellos this instance checks in full per second. Past it, hellos from an (address,
   * service) pair that failed within the rate-limit window are refused (429) before their
   * signature is checked; a pair with no recent failure is still checked. Bounds the CPU a
   * flood of bad hellos can take.
   *
   * @default 100
   */
  maxFailuresPerSecond?: number;
}

/**
 * The `handshake` option after validation: keys are loaded `KeyObject`s.
 */
export interface ResolvedHandshakeOptions {
  readonly privateKey: KeyObject;
  readonly trustedServices: ReadonlyMap<string, readonly KeyObject[]>;
  readonly path: string;
  readonly maxClockSkew: number;
  readonly rateLimit: Required<RateLimiterOptions> | false;
  readonly maxFailuresPerSecond: number;
}

// A year: longer skews make the replay cache hold nonces for as long.
const MAX_CLOCK_SKEW = 365 * 24 * 3_600_000;

const HANDSHAKE_KEYS = [
  'privateKey',
  'trustedServices',
  'path',
  'maxClockSkew',
  'rateLimit',
  'maxFailuresPerSecond',
];

/** Default of `handshake.maxFailuresPerSecond`. */
export const DEFAULT_MAX_HANDSHAKE_FAILURES_PER_SECOND = 100;

/**
 * Validates the `handshake` option and loads its keys. Accepts its own output, so resolving
 * twice is harmless.
 *
 * @param check the checks of the module's options
 * @param value what the user passed as `handshake`
 * @param serviceId the module's `serviceId`, which the handshake needs as its own identity
 * @returns the resolved option, or `undefined` when `value` is `undefined`
 * @throws {Error} naming the first bad option
 */
export function resolveHandshakeOptions(
  check: OptionChecks,
  value: HandshakeOptions | ResolvedHandshakeOptions | undefined,
  serviceId: string | undefined,
): ResolvedHandshakeOptions | undefined {
  if (value === undefined) return undefined;
  check.knownKeys(
    'handshake',
    value,
    HANDSHAKE_KEYS,
    'an object { privateKey, trustedServices, path?, maxClockSkew? }',
  );
  const fail: Fail = (option, expected, got) => check.fail(option, expected, got);
  if (serviceId === undefined) {
    fail('serviceId', 'set when "handshake" is configured (it is the handshake target)', serviceId);
  }
  const privateKey = loadPrivateIdentityKey(value.privateKey);
  if (privateKey === undefined) {
    fail('handshake.privateKey', 'an Ed25519 private key (PEM or KeyObject)', value.privateKey);
  }

  const trustedServices = loadTrustedServices(fail, value.trustedServices);

  const path = value.path ?? DEFAULT_HANDSHAKE_PATH;
  if (typeof path !== 'string' || !ROUTE_PATH.test(path)) {
    fail('handshake.path', 'a path such as "/mesh/handshake" (no parameters or wildcards)', path);
  }
  const maxClockSkew = value.maxClockSkew ?? DEFAULT_MAX_CLOCK_SKEW;
  if (!Number.isSafeInteger(maxClockSkew) || maxClockSkew < 1 || maxClockSkew > MAX_CLOCK_SKEW) {
    fail(
      'handshake.maxClockSkew',
      `a positive integer number of milliseconds, at most ${MAX_CLOCK_SKEW}`,
      maxClockSkew,
    );
  }

  const rateLimit =
    value.rateLimit === false
      ? false
      : value.rateLimit === undefined
        ? { ...DEFAULT_HANDSHAKE_RATE_LIMIT }
        : resolveRateLimiterOptions(check, 'handshake.rateLimit', value.rateLimit);

  return Object.freeze({
    privateKey,
    trustedServices,
    path,
    maxClockSkew,
    rateLimit: rateLimit === false ? false : Object.freeze(rateLimit),
    maxFailuresPerSecond: check.integer(
      'handshake.maxFailuresPerSecond',
      value.maxFailuresPerSecond,
      DEFAULT_MAX_HANDSHAKE_FAILURES_PER_SECOND,
      1,
    ),
  });
}

type Fail = (option: string, expected: string, got: unknown) => never;

/** Loads every pinned public key of `handshake.trustedServices`, naming the first bad one. */
function loadTrustedServices(
  fail: Fail,
  value: HandshakeOptions['trustedServices'],
): Map<string, readonly KeyObject[]> {
  const entries =
    value instanceof Map
      ? [...value.entries()]
      : value !== null && typeof value === 'object'
        ? Object.entries(value)
        : fail('handshake.trustedServices', 'an object mapping service ids to public keys', value);
  const trustedServices = new Map<string, readonly KeyObject[]>();
  for (const [id, keys] of entries as [string, unknown][]) {
    const option = `handshake.trustedServices[${JSON.stringify(id)}]`;
    if (id.length === 0 || id.length > MAX_SERVICE_ID_LENGTH) {
      fail(option, `keyed by a service id of 1 to ${MAX_SERVICE_ID_LENGTH} characters`, id);
    }
    const list = Array.isArray(keys) ? (keys as unknown[]) : [keys];
    if (list.length === 0) fail(option, 'at least one public key', keys);
    trustedServices.set(
      id,
      Object.freeze(
        list.map(
          (key, i) =>
            loadPublicIdentityKey(key) ??
            fail(
              Array.isArray(keys) ? `${option}[${i}]` : option,
              'an Ed25519 public key (PEM or KeyObject)',
              key,
            ),
        ),
      ),
    );
  }
  return trustedServices;
}
