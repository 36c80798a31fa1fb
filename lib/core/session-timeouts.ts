/**
 * Recommended idle timeouts per use case, in milliseconds.
 *
 * @example
 * ```ts
 * MeshSessionModule.forRoot({ sessionTimeout: SESSION_TIMEOUTS.realtime });
 * ```
 */
export const SESSION_TIMEOUTS = Object.freeze({
  /** Real-time APIs: 5 minutes. */
  realtime: 300_000,
  /** Standard APIs: 1 hour. */
  standard: 3_600_000,
  /** Background jobs: 24 hours. */
  background: 86_400_000,
  /** Batch processing: 7 days. */
  batch: 604_800_000,
} as const);
