/**
 * Name of the interval that the cleanup job registers in `SchedulerRegistry`.
 *
 * @example
 * ```ts
 * schedulerRegistry.getInterval(MESH_SESSION_CLEANUP_JOB);
 * ```
 */
export const MESH_SESSION_CLEANUP_JOB = 'mesh-session-cleanup';

/**
 * Injection token of {@link SessionCleanupOptions}; `MeshSessionModule` provides it from its
 * `cleanupInterval` option.
 */
export const SESSION_CLEANUP_OPTIONS = Symbol('SESSION_CLEANUP_OPTIONS');

/**
 * What the cleanup job needs, resolved from the module options.
 */
export interface SessionCleanupOptions {
  /** How often the job runs (ms), or `false` when it is off. */
  readonly cleanupInterval: number | false;
}
