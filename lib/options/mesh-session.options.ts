import {
  resolveHandshakeOptions,
  type HandshakeOptions,
  type ResolvedHandshakeOptions,
} from './handshake.options.js';
import { DEFAULT_SESSION_HEADER } from '../guard/session-guard.constants.js';
import { MAX_TIMER_MS } from '../core/option-checks.js';
import { SessionMessages } from '../core/session.messages.js';
import type { MonitoringOptions } from '../monitoring/monitoring-adapter.interface.js';
import type { RateLimiterOptions } from '../core/rate-limiter.js';
import { resolveRateLimiterOptions } from '../core/rate-limiter-options.js';
import { SESSION_TIMEOUTS } from '../core/session-timeouts.js';
import { SessionStore } from '../core/session-store.js';

/**
 * Options of `MeshSessionModule.forRoot()` and `forRootAsync()`. All are optional.
 *
 * @example
 * ```ts
 * MeshSessionModule.forRoot({
 *   serviceId: 'orders',
 *   sessionTimeout: SESSION_TIMEOUTS.realtime,
 *   rateLimit: { maxRequests: 100, windowMs: 60_000 },
 * });
 * ```
 */
export interface MeshSessionModuleOptions {
  /** This service's own id; it goes into audit events as `targetServiceId`. */
  serviceId?: string;
  /**
   * Sliding idle timeout (ms).
   *
   * @default 3_600_000
   */
  sessionTimeout?: number;
  /**
   * Absolute cap on a session's life, counted from `createdAt` (ms). Sliding never extends a
   * session past it. Must be at least `sessionTimeout`.
   *
   * @default undefined (no cap)
   */
  maxSessionLifetime?: number;
  /**
   * How often the cleanup job runs (ms), or `false` to turn it off.
   *
   * @default 300_000
   */
  cleanupInterval?: number | false;
  /**
   * Request header that carries the session id.
   *
   * @default 'x-mesh-session-id'
   */
  sessionHeader?: string;
  /**
   * Where sessions live.
   *
   * @default a new MemorySessionStore
   */
  store?: SessionStore;
  /**
   * Rate limit per `session.serviceId`, or `false` for none.
   *
   * @default false
   */
  rateLimit?: RateLimiterOptions | false;
  /**
   * How long the guard and the health indicator wait for the store before they answer 503 or
   * report it down (ms).
   *
   * @default 2_000
   */
  storeTimeout?: number;
  /**
   * Health indicator settings.
   *
   * @default { maxActiveSessions: 1000 }
   */
  health?: { maxActiveSessions?: number };
  /**
   * Where audit events go.
   *
   * @default undefined (no events)
   */
  monitoring?: MonitoringOptions;
  /**
   * This service's identity and the identities it trusts. When set, the module serves the
   * handshake at `handshake.path` (`POST` opens a session, a signed `DELETE` ends it).
   * Requires `serviceId`.
   *
   * @default undefined (no handshake)
   */
  handshake?: HandshakeOptions;
  /**
   * Signature mode: `SessionGuard` requires every request to be signed with the session key
   * (RFC 9421, hmac-sha256, with an RFC 9530 Content-Digest for bodies). When `false`, the
   * guard accepts the bare session id in `sessionHeader`, which is a bearer token. Signature
   * mode needs the app created with `{ rawBody: true }` to verify bodies.
   *
   * @default true when `handshake` is set, false otherwise
   */
  requestSigning?: boolean;
}

/**
 * The options after defaults and validation, as injected under `MESH_SESSION_OPTIONS`.
 */
export interface ResolvedMeshSessionOptions {
  readonly serviceId: string | undefined;
  readonly sessionTimeout: number;
  readonly maxSessionLifetime: number | undefined;
  readonly cleanupInterval: number | false;
  /** Lower-cased header name. */
  readonly sessionHeader: string;
  readonly store: SessionStore | undefined;
  readonly rateLimit: Required<RateLimiterOptions> | false;
  readonly storeTimeout: number;
  readonly health: { readonly maxActiveSessions: number };
  readonly monitoring: MonitoringOptions | undefined;
  readonly handshake: ResolvedHandshakeOptions | undefined;
  readonly requestSigning: boolean;
}

/** Default values of {@link MeshSessionModuleOptions}. */
export const MESH_SESSION_DEFAULTS = Object.freeze({
  sessionTimeout: SESSION_TIMEOUTS.standard,
  cleanupInterval: 300_000,
  sessionHeader: DEFAULT_SESSION_HEADER,
  storeTimeout: 2_000,
  maxActiveSessions: 1_000,
});

const HEADER_TOKEN = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;

/**
 * Applies defaults and validates every option.
 *
 * @param options what the user passed
 * @returns the resolved options
 * @throws {Error} naming the first bad option
 * @example
 * ```ts
 * resolveMeshSessionOptions({ sessionTimeout: -1 }); // throws: option "sessionTimeout" ...
 * ```
 */
export function resolveMeshSessionOptions(
  options: MeshSessionModuleOptions = {},
): ResolvedMeshSessionOptions {
  if (options === null || typeof options !== 'object') {
    throw new Error(SessionMessages.invalidOption('options', 'an object', options));
  }
  const sessionTimeout = duration(
    'sessionTimeout',
    options.sessionTimeout,
    MESH_SESSION_DEFAULTS.sessionTimeout,
  );
  const maxSessionLifetime =
    options.maxSessionLifetime === undefined
      ? undefined
      : duration('maxSessionLifetime', options.maxSessionLifetime, undefined);
  if (maxSessionLifetime !== undefined && maxSessionLifetime < sessionTimeout) {
    fail(
      'maxSessionLifetime',
      `at least sessionTimeout (${sessionTimeout} ms)`,
      options.maxSessionLifetime,
    );
  }
  const cleanupInterval =
    options.cleanupInterval === false
      ? false
      : duration('cleanupInterval', options.cleanupInterval, MESH_SESSION_DEFAULTS.cleanupInterval);
  if (cleanupInterval !== false && cleanupInterval > MAX_TIMER_MS) {
    fail('cleanupInterval', `at most ${MAX_TIMER_MS} ms`, cleanupInterval);
  }

  const header = options.sessionHeader ?? MESH_SESSION_DEFAULTS.sessionHeader;
  if (typeof header !== 'string' || !HEADER_TOKEN.test(header.toLowerCase())) {
    fail('sessionHeader', 'a non-empty HTTP header name', header);
  }

  if (options.store !== undefined && !(options.store instanceof SessionStore)) {
    fail('store', 'an instance of a SessionStore subclass', options.store);
  }

  const rateLimit =
    options.rateLimit === undefined || options.rateLimit === false
      ? false
      : resolveRateLimiterOptions('rateLimit', options.rateLimit);

  const storeTimeout = duration(
    'storeTimeout',
    options.storeTimeout,
    MESH_SESSION_DEFAULTS.storeTimeout,
  );
  if (storeTimeout > MAX_TIMER_MS) fail('storeTimeout', `at most ${MAX_TIMER_MS} ms`, storeTimeout);

  const maxActiveSessions =
    options.health?.maxActiveSessions ?? MESH_SESSION_DEFAULTS.maxActiveSessions;
  if (!Number.isInteger(maxActiveSessions) || maxActiveSessions < 1) {
    fail('health.maxActiveSessions', 'an integer of at least 1', maxActiveSessions);
  }

  const monitoring = options.monitoring;
  if (monitoring !== undefined) {
    if (monitoring === null || typeof monitoring !== 'object') {
      fail('monitoring', 'an object { enabled?, adapters? }', monitoring);
    }
    if (monitoring.adapters !== undefined) {
      if (!Array.isArray(monitoring.adapters)) {
        fail('monitoring.adapters', 'an array of MonitoringAdapter', monitoring.adapters);
      }
      monitoring.adapters.forEach((adapter, i) => {
        if (typeof adapter?.logEvent !== 'function') {
          fail(`monitoring.adapters[${i}]`, 'an object with a logEvent() method', adapter);
        }
      });
    }
  }

  if (
    options.serviceId !== undefined &&
    (typeof options.serviceId !== 'string' ||
      options.serviceId.length === 0 ||
      options.serviceId.length > 255)
  ) {
    fail('serviceId', 'a non-empty string of at most 255 characters', options.serviceId);
  }

  const handshake = resolveHandshakeOptions(options.handshake, options.serviceId);
  const requestSigning = options.requestSigning ?? handshake !== undefined;
  if (typeof requestSigning !== 'boolean') {
    fail('requestSigning', 'a boolean', requestSigning);
  }

  return Object.freeze({
    serviceId: options.serviceId,
    sessionTimeout,
    maxSessionLifetime,
    cleanupInterval,
    sessionHeader: header.toLowerCase(),
    store: options.store,
    rateLimit,
    storeTimeout,
    health: Object.freeze({ maxActiveSessions }),
    monitoring,
    handshake,
    requestSigning,
  });
}

function duration(option: string, value: unknown, fallback: number | undefined): number {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    fail(option, 'a positive integer number of milliseconds', value);
  }
  return value;
}

function fail(option: string, expected: string, got: unknown): never {
  throw new Error(SessionMessages.invalidOption(option, expected, got));
}
