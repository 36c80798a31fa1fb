import type { MeshAuditEvent } from '../core/mesh-audit-event.interface.js';

/**
 * Receives audit events. An adapter that throws, rejects or never resolves
 * does not affect requests: the module never awaits it on the request path. Metrics are not an
 * adapter's business: they go to OpenTelemetry (the module's `telemetry` option).
 *
 * @example
 * ```ts
 * class SessionMonitoringAdapter implements MonitoringAdapter {
 *   async logEvent(event: MeshAuditEvent): Promise<void> {
 *     if (event.eventType === 'connection') console.log(`Session event for ${event.serviceId}`);
 *   }
 * }
 * ```
 */
export interface MonitoringAdapter {
  /** Handles one event. */
  logEvent(event: MeshAuditEvent): Promise<void>;
}

/**
 * The module's `monitoring` option.
 */
export interface MonitoringOptions {
  /**
   * Whether events are sent.
   *
   * @default true
   */
  enabled?: boolean;
  /**
   * Where events go.
   *
   * @default []
   */
  adapters?: MonitoringAdapter[];
}
