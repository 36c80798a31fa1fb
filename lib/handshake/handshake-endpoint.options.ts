import type { KeyObject } from 'node:crypto';
import type { RateLimiterOptions } from '../core/rate-limiter-options.js';

/**
 * Injection token of {@link HandshakeEndpointOptions}: `null` when the module has no
 * `handshake` option, and then no endpoint is served.
 */
export const HANDSHAKE_ENDPOINT_OPTIONS = Symbol('HANDSHAKE_ENDPOINT_OPTIONS');

/**
 * What the handshake endpoint and `HandshakeService` need, resolved from the module options:
 * this service's identity, the pinned identities it trusts, where it is served and its limits.
 */
export interface HandshakeEndpointOptions {
  /** This service's id: the target every client hello must name. */
  readonly serviceId: string;
  /** This service's Ed25519 private key, which signs every handshake reply. */
  readonly privateKey: KeyObject;
  /** The services allowed to open sessions, each with its pinned Ed25519 public keys. */
  readonly trustedServices: ReadonlyMap<string, readonly KeyObject[]>;
  /** Path of the endpoint, without the app's global prefix. */
  readonly path: string;
  /** How far a hello's timestamp may be from this server's clock (ms). */
  readonly maxClockSkew: number;
  /** Handshakes per (peer address, claimed service), or `false` for no limit. */
  readonly rateLimit: Required<RateLimiterOptions> | false;
  /** Failed hellos checked in full per second, in this instance. */
  readonly maxFailuresPerSecond: number;
  /** How long a store call may take before the endpoint answers 503 (ms). */
  readonly storeTimeout: number;
}
