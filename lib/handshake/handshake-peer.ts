import type { TelemetryTransport } from '../core/session-telemetry.js';

/**
 * Who sent a handshake.
 *
 * @example
 * ```ts
 * const peer: HandshakePeer = { address: '10.0.0.7', transport: 'grpc' };
 * ```
 */
export interface HandshakePeer {
  /** The peer's address, as the platform reports it; the rate limit keys on it. */
  address: string;
  /**
   * The transport the hello came by, for metrics and traces.
   *
   * @default 'http'
   */
  transport?: TelemetryTransport;
}
