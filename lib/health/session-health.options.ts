/**
 * Injection token of {@link SessionHealthOptions}; `MeshSessionModule` provides it from its
 * `health` and `storeTimeout` options.
 */
export const SESSION_HEALTH_OPTIONS = Symbol('SESSION_HEALTH_OPTIONS');

/**
 * What `SessionHealthIndicator` needs, resolved from the module options.
 */
export interface SessionHealthOptions {
  /** The indicator is down from this many live sessions on. */
  readonly maxActiveSessions: number;
  /** How long the store may take to count before the indicator reports it down (ms). */
  readonly storeTimeout: number;
}
