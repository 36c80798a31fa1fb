import type { KeyObject } from 'node:crypto';
import { OptionChecks } from '../core/option-checks.js';
import { MAX_SERVICE_ID_LENGTH } from '../core/session.constants.js';
import { DEFAULT_HANDSHAKE_PATH, ROUTE_PATH } from '../protocol/handshake/handshake.constants.js';
import {
  loadPrivateIdentityKey,
  loadPublicIdentityKey,
  type IdentityKeyInput,
} from '../protocol/handshake/identity-keys.js';
import {
  resolveTelemetryOptions,
  type MeshTelemetryOptions,
  type ResolvedTelemetryOptions,
} from '../telemetry/telemetry.options.js';
import {
  GRPC_SERVICE_KEYS,
  resolveGrpcService,
  type MeshGrpcServiceOptions,
  type ResolvedGrpcServiceOptions,
} from './grpc-service.options.js';

/** How to reach one remote service over HTTP, and who it must prove to be. */
export interface MeshHttpServiceOptions {
  /** Base URL of the service, such as `http://greeter:3000` (a path prefix is kept). */
  url: string;
  /** The service's Ed25519 public key (PEM), or several while it rotates its key. */
  publicKey: IdentityKeyInput | readonly IdentityKeyInput[];
  /**
   * Path of the service's handshake endpoint, below `url`.
   *
   * @default '/mesh/handshake'
   */
  handshakePath?: string;
  /**
   * The service's own id (its `serviceId` option), when this entry's key differs: for example
   * one service reached over both transports, under two keys.
   *
   * @default the entry's key
   */
  serviceId?: string;
}

/**
 * One remote service: over HTTP (`{ url, publicKey }`) or over gRPC (`{ grpc, publicKey }`).
 *
 * @example
 * ```ts
 * const http: MeshServiceOptions = { url: 'http://greeter:3000', publicKey };
 * const grpc: MeshServiceOptions = {
 *   grpc: { address: 'greeter:50051', protoPath: 'greeter.proto', service: 'greeter.v1.Greeter' },
 *   publicKey,
 * };
 * ```
 */
export type MeshServiceOptions = MeshHttpServiceOptions | MeshGrpcServiceOptions;

/**
 * Options of `MeshClientModule.forRoot()` and `new MeshClient()`.
 *
 * @example
 * ```ts
 * MeshClientModule.forRoot({
 *   serviceId: 'caller',
 *   privateKey: process.env.CALLER_PRIVATE_KEY,
 *   services: { greeter: { url: 'http://greeter:3000', publicKey: process.env.GREETER_PUBLIC_KEY } },
 * });
 * ```
 */
export interface MeshClientModuleOptions {
  /** This service's id, as the servers know it in their `trustedServices`. */
  serviceId: string;
  /** This service's Ed25519 private key (PEM, PKCS#8). */
  privateKey: IdentityKeyInput;
  /** The services this client calls, by id. */
  services: Record<string, MeshServiceOptions>;
  /**
   * Time limit of each exchange, handshake included (ms): of each HTTP request, and the deadline
   * of each gRPC call.
   *
   * @default 10_000
   */
  timeout?: number;
  /**
   * The `fetch` to use for HTTP services, for example one with a custom dispatcher.
   *
   * @default globalThis.fetch
   */
  fetch?: typeof fetch;
  /**
   * OpenTelemetry metrics and traces of the client's handshakes, and W3C trace context on its
   * calls (see docs/observability.md): recorded when `@opentelemetry/api` is installed and an
   * SDK is registered, or providers are given here.
   *
   * @default { enabled: true, peerServiceAttribute: 'pinned' } (the global providers)
   */
  telemetry?: MeshTelemetryOptions;
}

/** An HTTP service after validation. */
export interface ResolvedHttpServiceOptions {
  readonly transport: 'http';
  readonly id: string;
  /** The id the service proves in the handshake: `serviceId`, or the entry's key. */
  readonly serverId: string;
  /** The URL without a trailing slash. */
  readonly url: string;
  readonly publicKeys: readonly KeyObject[];
  readonly handshakePath: string;
}

/** One service after validation. */
export type ResolvedMeshServiceOptions = ResolvedHttpServiceOptions | ResolvedGrpcServiceOptions;

/** The client options after validation: keys are loaded `KeyObject`s. */
export interface ResolvedMeshClientOptions {
  readonly serviceId: string;
  readonly privateKey: KeyObject;
  readonly services: ReadonlyMap<string, ResolvedMeshServiceOptions>;
  readonly timeout: number;
  readonly fetch: typeof fetch | undefined;
  readonly telemetry: ResolvedTelemetryOptions;
}

/**
 * Default values of {@link MeshClientModuleOptions}.
 *
 * @example
 * ```ts
 * MESH_CLIENT_DEFAULTS.timeout; // 10_000
 * ```
 */
export const MESH_CLIENT_DEFAULTS = Object.freeze({ timeout: 10_000 });

const check: OptionChecks = new OptionChecks('MeshClientModule');
const CLIENT_KEYS = [
  'serviceId',
  'privateKey',
  'services',
  'timeout',
  'fetch',
  'telemetry',
] as const;
const SERVICE_KEYS = ['url', 'publicKey', 'handshakePath', 'serviceId'] as const;

/**
 * Validates the client options and loads the keys. An unknown key, at the top level or in a
 * service, is refused with the closest known one: a typo would otherwise fall back to a default
 * without a word.
 *
 * @param options what the user passed
 * @returns the resolved options
 * @throws {Error} naming the first bad or unknown option
 * @example
 * ```ts
 * resolveMeshClientOptions({ serviceId: 'caller', privateKey, services, timout: 5_000 });
 * // Error: MeshClientModule: unknown option "timout"; did you mean "timeout"?
 * ```
 */
export function resolveMeshClientOptions(
  options: MeshClientModuleOptions,
): ResolvedMeshClientOptions {
  check.knownKeys('', options, CLIENT_KEYS, 'an object { serviceId, privateKey, services }');
  const { serviceId } = options;
  if (
    typeof serviceId !== 'string' ||
    serviceId.length === 0 ||
    serviceId.length > MAX_SERVICE_ID_LENGTH
  ) {
    check.fail('serviceId', `a string of 1 to ${MAX_SERVICE_ID_LENGTH} characters`, serviceId);
  }
  const privateKey =
    loadPrivateIdentityKey(options.privateKey) ??
    check.fail('privateKey', 'an Ed25519 private key (PEM or KeyObject)', options.privateKey);
  const timeout = check.duration('timeout', options.timeout, MESH_CLIENT_DEFAULTS.timeout, true);
  if (options.fetch !== undefined && typeof options.fetch !== 'function') {
    check.fail('fetch', 'a fetch function', options.fetch);
  }
  if (options.services === null || typeof options.services !== 'object') {
    check.fail('services', 'an object mapping service ids to services', options.services);
  }
  const services = new Map<string, ResolvedMeshServiceOptions>();
  for (const [id, service] of Object.entries(options.services)) {
    services.set(id, resolveService(id, service));
  }
  const telemetry = resolveTelemetryOptions(check, options.telemetry);
  return Object.freeze({
    serviceId,
    privateKey,
    services,
    timeout,
    fetch: options.fetch,
    telemetry,
  });
}

/** One entry of `services`, checked and with its keys loaded. */
function resolveService(id: string, service: MeshServiceOptions): ResolvedMeshServiceOptions {
  const option = `services[${JSON.stringify(id)}]`;
  if (id.length === 0 || id.length > MAX_SERVICE_ID_LENGTH) {
    check.fail(option, `keyed by a service id of 1 to ${MAX_SERVICE_ID_LENGTH} characters`, id);
  }
  const expected = 'an object { url, publicKey, handshakePath? } or { grpc, publicKey }';
  if (typeof service === 'object' && service !== null && 'grpc' in service) {
    check.knownKeys(option, service, GRPC_SERVICE_KEYS, expected);
    const publicKeys = publicKeysOf(`${option}.publicKey`, service.publicKey);
    const serverId = serverIdOf(option, id, service.serviceId);
    return resolveGrpcService(
      check,
      option,
      { id, serverId },
      service.grpc,
      Object.freeze(publicKeys),
    );
  }
  // `grpc` among the known keys, so that a misspelt `grcp` is named.
  check.knownKeys(option, service, [...SERVICE_KEYS, 'grpc'], expected);
  const url = serviceUrl(`${option}.url`, service.url);
  const publicKeys = publicKeysOf(`${option}.publicKey`, service.publicKey);
  const handshakePath = service.handshakePath ?? DEFAULT_HANDSHAKE_PATH;
  if (typeof handshakePath !== 'string' || !ROUTE_PATH.test(handshakePath)) {
    check.fail(`${option}.handshakePath`, 'a path such as "/mesh/handshake"', handshakePath);
  }
  return Object.freeze({
    transport: 'http',
    id,
    serverId: serverIdOf(option, id, service.serviceId),
    url: url.href.replace(/\/+$/, ''),
    publicKeys: Object.freeze(publicKeys),
    handshakePath,
  });
}

/** The id the service proves: its `serviceId` option, or the entry's key. */
function serverIdOf(option: string, id: string, value: unknown): string {
  if (value === undefined) return id;
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_SERVICE_ID_LENGTH) {
    check.fail(
      `${option}.serviceId`,
      `a service id of 1 to ${MAX_SERVICE_ID_LENGTH} characters`,
      value,
    );
  }
  return value;
}

/** A base URL that signing cannot misread: http(s), without query, fragment or credentials. */
function serviceUrl(option: string, value: unknown): URL {
  let url: URL | undefined;
  try {
    url = new URL(value as string);
  } catch {
    url = undefined;
  }
  if (
    url === undefined ||
    (url.protocol !== 'http:' && url.protocol !== 'https:') ||
    url.search !== '' ||
    url.hash !== '' ||
    url.username !== '' ||
    url.password !== ''
  ) {
    check.fail(option, 'an http(s) URL without query, fragment or credentials', value);
  }
  return url;
}

/** One pinned key, or several while the service rotates its key. */
function publicKeysOf(option: string, value: unknown): KeyObject[] {
  const list = Array.isArray(value);
  const keys = list ? (value as readonly unknown[]) : [value];
  if (keys.length === 0) check.fail(option, 'at least one public key', keys);
  return keys.map(
    (key, i) =>
      loadPublicIdentityKey(key) ??
      check.fail(
        list ? `${option}[${i}]` : option,
        'an Ed25519 public key (PEM or KeyObject)',
        key,
      ),
  );
}
