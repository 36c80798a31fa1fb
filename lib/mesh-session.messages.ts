/**
 * Every text the library shows to callers, operators and logs, written as functions.
 * Tests and subclasses compare against these instead of copying strings.
 */
export const MeshSessionMessages = {
  /** 401: the request has no session header. */
  missingSessionId: (): string => 'Missing session id',
  /** 401: the session header is not a UUID. */
  invalidSessionId: (): string => 'Invalid session id',
  /** 401: no live session has this id. */
  sessionNotFound: (): string => 'Session not found or expired',
  /** 401: the session carried `metadata.revoked === true`. */
  sessionRevoked: (): string => 'Session has been revoked',
  /** 429: the service is over its rate limit. */
  rateLimited: (): string => 'Rate limit exceeded',
  /** 503: the store failed or timed out. */
  storeUnavailable: (): string => 'Session store unavailable',
  /** Log line when the guard meets a store failure. */
  storeFailed: (reason: string): string => `Session store failed: ${reason}`,
  /** The store did not answer within `storeTimeout`. */
  storeTimeout: (ms: number): string => `Session store did not answer within ${ms} ms`,
  /** Startup error for a bad module option. */
  invalidOption: (option: string, expected: string, got: unknown): string =>
    `MeshSessionModule: option "${option}" must be ${expected}; got ${describe(got)}`,
  /** TypeError for a bad argument of a public method. */
  invalidArgument: (argument: string, expected: string, got: unknown): string =>
    `Argument "${argument}" must be ${expected}; got ${describe(got)}`,
  /** Log line of the cleanup job. */
  cleanedUp: (count: number): string => `Cleaned up ${count} expired sessions`,
  /** Log line when a cleanup run fails. */
  cleanupFailed: (reason: string): string => `Session cleanup failed: ${reason}`,
  /** Log line when a monitoring adapter fails. */
  adapterFailed: (adapter: string, reason: string): string =>
    `Monitoring adapter ${adapter} failed: ${reason}`,
  /** Log line when the app runs the cleanup job without `ScheduleModule`. */
  noScheduler: (): string =>
    'ScheduleModule is not imported: the session cleanup job runs on a plain interval',
} as const;

/**
 * Describes a rejected value without echoing it in full: a bad value may be a secret (a key
 * passed in the wrong argument), so only its type and size are shown.
 */
function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Buffer.isBuffer(value)) return `a Buffer of ${value.length} bytes`;
  if (typeof value === 'string') return `a string of ${value.length} characters`;
  if (typeof value === 'number') return String(value);
  if (typeof value === 'boolean' || value === undefined) return String(value);
  if (Array.isArray(value)) return 'an array';
  return `a value of type ${typeof value === 'object' ? (value.constructor?.name ?? 'object') : typeof value}`;
}
