import type { KeyObject } from 'node:crypto';
import { DEFAULT_HANDSHAKE_PATH } from '../protocol/handshake/handshake.constants.js';
import {
  loadPrivateIdentityKey,
  loadPublicIdentityKey,
  type IdentityKeyInput,
} from '../protocol/handshake/identity-keys.js';
import { MAX_SERVICE_ID_LENGTH } from '../core/session.constants.js';
import { MAX_TIMER_MS } from '../core/option-checks.js';
import { ROUTE_PATH } from '../protocol/handshake/handshake.constants.js';
import { MeshClientMessages } from './mesh-client.messages.js';

/** How to reach one remote service, and who it must prove to be. */
export interface MeshServiceOptions {
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
}

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
   * Time limit of each HTTP exchange, handshake included (ms).
   *
   * @default 10_000
   */
  timeout?: number;
  /**
   * The `fetch` to use, for example one with a custom dispatcher.
   *
   * @default globalThis.fetch
   */
  fetch?: typeof fetch;
}

/** One service after validation. */
export interface ResolvedMeshServiceOptions {
  readonly id: string;
  /** The URL without a trailing slash. */
  readonly url: string;
  readonly publicKeys: readonly KeyObject[];
  readonly handshakePath: string;
}

/** The client options after validation: keys are loaded `KeyObject`s. */
export interface ResolvedMeshClientOptions {
  readonly serviceId: string;
  readonly privateKey: KeyObject;
  readonly services: ReadonlyMap<string, ResolvedMeshServiceOptions>;
  readonly timeout: number;
  readonly fetch: typeof fetch | undefined;
}

/** Default values of {@link MeshClientModuleOptions}. */
export const MESH_CLIENT_DEFAULTS = Object.freeze({ timeout: 10_000 });

/**
 * Validates the client options and loads the keys.
 *
 * @param options what the user passed
 * @returns the resolved options
 * @throws {Error} naming the first bad option
 */
export function resolveMeshClientOptions(
  options: MeshClientModuleOptions,
): ResolvedMeshClientOptions {
  if (options === null || typeof options !== 'object') {
    fail('options', 'an object { serviceId, privateKey, services }', options);
  }
  const { serviceId } = options;
  if (
    typeof serviceId !== 'string' ||
    serviceId.length === 0 ||
    serviceId.length > MAX_SERVICE_ID_LENGTH
  ) {
    fail('serviceId', `a string of 1 to ${MAX_SERVICE_ID_LENGTH} characters`, serviceId);
  }
  const privateKey =
    loadPrivateIdentityKey(options.privateKey) ??
    fail('privateKey', 'an Ed25519 private key (PEM or KeyObject)', options.privateKey);
  const timeout = options.timeout ?? MESH_CLIENT_DEFAULTS.timeout;
  if (!Number.isSafeInteger(timeout) || timeout < 1 || timeout > MAX_TIMER_MS) {
    fail('timeout', 'a positive integer number of milliseconds', timeout);
  }
  if (options.fetch !== undefined && typeof options.fetch !== 'function') {
    fail('fetch', 'a fetch function', options.fetch);
  }
  if (options.services === null || typeof options.services !== 'object') {
    fail('services', 'an object mapping service ids to { url, publicKey }', options.services);
  }
  const services = new Map<string, ResolvedMeshServiceOptions>();
  for (const [id, service] of Object.entries(options.services)) {
    const option = `services[${JSON.stringify(id)}]`;
    if (id.length === 0 || id.length > MAX_SERVICE_ID_LENGTH) {
      fail(option, `keyed by a service id of 1 to ${MAX_SERVICE_ID_LENGTH} characters`, id);
    }
    if (service === null || typeof service !== 'object') {
      fail(option, 'an object { url, publicKey, handshakePath? }', service);
    }
    let url: URL | undefined;
    try {
      url = new URL(service.url);
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
      fail(`${option}.url`, 'an http(s) URL without query, fragment or credentials', service.url);
    }
    const keys = Array.isArray(service.publicKey)
      ? (service.publicKey as readonly unknown[])
      : [service.publicKey];
    if (keys.length === 0) fail(`${option}.publicKey`, 'at least one public key', keys);
    const publicKeys = keys.map(
      (key, i) =>
        loadPublicIdentityKey(key) ??
        fail(
          Array.isArray(service.publicKey) ? `${option}.publicKey[${i}]` : `${option}.publicKey`,
          'an Ed25519 public key (PEM or KeyObject)',
          key,
        ),
    );
    const handshakePath = service.handshakePath ?? DEFAULT_HANDSHAKE_PATH;
    if (typeof handshakePath !== 'string' || !ROUTE_PATH.test(handshakePath)) {
      fail(`${option}.handshakePath`, 'a path such as "/mesh/handshake"', handshakePath);
    }
    services.set(
      id,
      Object.freeze({
        id,
        url: url.href.replace(/\/+$/, ''),
        publicKeys: Object.freeze(publicKeys),
        handshakePath,
      }),
    );
  }
  return Object.freeze({ serviceId, privateKey, services, timeout, fetch: options.fetch });
}

function fail(option: string, expected: string, got: unknown): never {
  throw new Error(MeshClientMessages.invalidClientOption(option, expected, got));
}
