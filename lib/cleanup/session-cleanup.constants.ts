/**
 * Name of the interval that the cleanup job registers in `SchedulerRegistry`.
 *
 * @example
 * ```ts
 * schedulerRegistry.getInterval(MESH_SESSION_CLEANUP_JOB);
 * ```
 */
export const MESH_SESSION_CLEANUP_JOB = 'mesh-session-cleanup';
