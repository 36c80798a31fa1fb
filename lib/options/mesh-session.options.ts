import { OptionChecks } from '../core/option-checks.js';
import type { RateLimiterOptions } from '../core/rate-limiter-options.js';
import { resolveRateLimiterOptions } from '../core/rate-limiter-options.js';
import { MAX_SERVICE_ID_LENGTH } from '../core/session.constants.js';
import { SessionStore } from '../core/session-store.js';
import { SESSION_TIMEOUTS } from '../core/session-timeouts.js';
import { DEFAULT_SESSION_HEADER } from '../guard/session-guard.constants.js';
import type { MonitoringOptions } from '../monitoring/monitoring-adapter.interface.js';
import {
  resolveTelemetryOptions,
  type MeshTelemetryOptions,
  type ResolvedTelemetryOptions,
} from '../telemetry/telemetry.options.js';
import {
  resolveHandshakeOptions,
  type HandshakeOptions,
  type ResolvedHandshakeOptions,
} from './handshake.options.js';

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
   * OpenTelemetry metrics and traces (see docs/observability.md). They are recorded when the
   * optional peer `@opentelemetry/api` is installed and an SDK is registered before the app is
   * created, or providers are given here; otherwise nothing is recorded and nothing costs.
   *
   * @default { enabled: true, peerServiceAttribute: 'pinned' } (the global providers)
   */
  telemetry?: MeshTelemetryOptions;
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
  readonly telemetry: ResolvedTelemetryOptions;
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

/** The checks of the module's options: their errors start with `MeshSessionModule:`. */
export const MODULE_OPTION_CHECKS: OptionChecks = new OptionChecks('MeshSessionModule');

const MODULE_KEYS = [
  'serviceId',
  'sessionTimeout',
  'maxSessionLifetime',
  'cleanupInterval',
  'sessionHeader',
  'store',
  'rateLimit',
  'storeTimeout',
  'health',
  'monitoring',
  'telemetry',
  'handshake',
  'requestSigning',
] as const satisfies readonly (keyof MeshSessionModuleOptions)[];

/**
 * Applies defaults and validates every option, once, when the module starts.
 *
 * @param options what the user passed
 * @returns the resolved options
 * @throws {Error} naming the first bad option, or an unknown key with the closest known one
 * @example
 * ```ts
 * resolveMeshSessionOptions({ sessionTimout: 1000 });
 * // throws: MeshSessionModule: unknown option "sessionTimout"; did you mean "sessionTimeout"?
 * ```
 */
export function resolveMeshSessionOptions(
  options: MeshSessionModuleOptions = {},
): ResolvedMeshSessionOptions {
  const check: OptionChecks = MODULE_OPTION_CHECKS;
  check.knownKeys('', options, MODULE_KEYS);
  const { sessionTimeout, maxSessionLifetime, cleanupInterval } = resolveTimes(options);

  const header = options.sessionHeader ?? MESH_SESSION_DEFAULTS.sessionHeader;
  if (typeof header !== 'string' || !HEADER_TOKEN.test(header.toLowerCase())) {
    check.fail('sessionHeader', 'a non-empty HTTP header name', header);
  }
  if (options.store !== undefined && !(options.store instanceof SessionStore)) {
    check.fail('store', 'an instance of a SessionStore subclass', options.store);
  }
  const rateLimit =
    options.rateLimit === undefined || options.rateLimit === false
      ? false
      : resolveRateLimiterOptions(check, 'rateLimit', options.rateLimit);
  const storeTimeout = check.duration(
    'storeTimeout',
    options.storeTimeout,
    MESH_SESSION_DEFAULTS.storeTimeout,
    true,
  );
  const serviceId = resolveServiceId(options.serviceId);
  const handshake = resolveHandshakeOptions(check, options.handshake, serviceId);
  return Object.freeze({
    serviceId,
    sessionTimeout,
    maxSessionLifetime,
    cleanupInterval,
    sessionHeader: header.toLowerCase(),
    store: options.store,
    rateLimit,
    storeTimeout,
    health: Object.freeze({ maxActiveSessions: resolveMaxActiveSessions(options.health) }),
    monitoring: resolveMonitoring(options.monitoring),
    telemetry: resolveTelemetryOptions(check, options.telemetry),
    handshake,
    requestSigning: check.boolean(
      'requestSigning',
      options.requestSigning,
      handshake !== undefined,
    ),
  });
}

function resolveServiceId(serviceId: unknown): string | undefined {
  if (
    serviceId !== undefined &&
    (typeof serviceId !== 'string' ||
      serviceId.length === 0 ||
      serviceId.length > MAX_SERVICE_ID_LENGTH)
  ) {
    MODULE_OPTION_CHECKS.fail(
      'serviceId',
      `a non-empty string of at most ${MAX_SERVICE_ID_LENGTH} characters`,
      serviceId,
    );
  }
  return serviceId as string | undefined;
}

function resolveMaxActiveSessions(health: MeshSessionModuleOptions['health']): number {
  if (health === undefined) return MESH_SESSION_DEFAULTS.maxActiveSessions;
  MODULE_OPTION_CHECKS.knownKeys('health', health, ['maxActiveSessions'], 'an object');
  return MODULE_OPTION_CHECKS.integer(
    'health.maxActiveSessions',
    health.maxActiveSessions,
    MESH_SESSION_DEFAULTS.maxActiveSessions,
    1,
  );
}

function resolveMonitoring(
  monitoring: MonitoringOptions | undefined,
): MonitoringOptions | undefined {
  if (monitoring === undefined) return undefined;
  const check: OptionChecks = MODULE_OPTION_CHECKS;
  check.knownKeys(
    'monitoring',
    monitoring,
    ['enabled', 'adapters'],
    'an object { enabled?, adapters? }',
  );
  if (monitoring.adapters !== undefined) {
    if (!Array.isArray(monitoring.adapters)) {
      check.fail('monitoring.adapters', 'an array of MonitoringAdapter', monitoring.adapters);
    }
    monitoring.adapters.forEach((adapter, i) => {
      if (typeof adapter?.logEvent !== 'function') {
        check.fail(`monitoring.adapters[${i}]`, 'an object with a logEvent() method', adapter);
      }
    });
  }
  return monitoring;
}

/** The session timeout, the lifetime cap and the cleanup interval. */
function resolveTimes(
  options: MeshSessionModuleOptions,
): Pick<ResolvedMeshSessionOptions, 'sessionTimeout' | 'maxSessionLifetime' | 'cleanupInterval'> {
  const check: OptionChecks = MODULE_OPTION_CHECKS;
  const sessionTimeout = check.duration(
    'sessionTimeout',
    options.sessionTimeout,
    MESH_SESSION_DEFAULTS.sessionTimeout,
  );
  const maxSessionLifetime =
    options.maxSessionLifetime === undefined
      ? undefined
      : check.duration('maxSessionLifetime', options.maxSessionLifetime);
  if (maxSessionLifetime !== undefined && maxSessionLifetime < sessionTimeout) {
    check.fail(
      'maxSessionLifetime',
      `at least sessionTimeout (${sessionTimeout} ms)`,
      options.maxSessionLifetime,
    );
  }
  const cleanupInterval =
    options.cleanupInterval === false
      ? false
      : check.duration(
          'cleanupInterval',
          options.cleanupInterval,
          MESH_SESSION_DEFAULTS.cleanupInterval,
          true,
        );

  return { sessionTimeout, maxSessionLifetime, cleanupInterval };
}
