import { describeValue as describe } from './describe-value.js';

/**
 * Texts of the session core: what callers are told when a session is refused, and the errors of bad arguments. Written as functions, so that tests and subclasses compare against them instead of copying strings.
 */
export const SessionMessages = {
  /** Reading the key of a session that was removed from its store. */
  sessionKeyReleased: (): string =>
    'The session was removed from its store: its key is no longer available',
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
  /** Log line, at most once per interval while the store keeps failing. */
  storeFailureSummary: (count: number, seconds: number, reason: string): string =>
    `${count} requests refused in the last ${seconds} s: Session store failed: ${reason}`,
  /** Log line when the store answers again after failures. */
  storeRecovered: (refused: number): string =>
    `Session store answers again (${refused} requests were refused while it failed)`,
  /** The store did not answer within `storeTimeout`. */
  storeTimeout: (ms: number): string => `Session store did not answer within ${ms} ms`,
  /** Startup error for a bad module option. */
  invalidOption: (option: string, expected: string, got: unknown): string =>
    `MeshSessionModule: option "${option}" must be ${expected}; got ${describe(got)}`,
  /** TypeError for a bad argument of a public method. */
  invalidArgument: (argument: string, expected: string, got: unknown): string =>
    `Argument "${argument}" must be ${expected}; got ${describe(got)}`,
  /** A synchronous store call on a store that answers only through a Promise. */
  storeAnswersLater: (method: string): string =>
    `This session store has no ${method}(): it answers through a Promise only`,
  /** A stored session id was already taken. */
  sessionIdCollision: (): string => 'Session id collision: a session with this id already exists',
} as const;
