import { SessionMessages } from './session.messages.js';
import { SESSION_TIMEOUTS } from './session-timeouts.js';

/**
 * How long sessions live: the sliding idle timeout and an optional absolute cap.
 *
 * @example
 * ```ts
 * const policy: SessionPolicy = { sessionTimeout: 300_000, maxSessionLifetime: 86_400_000 };
 * ```
 */
export interface SessionPolicy {
  /**
   * Sliding idle timeout (ms): each activity moves `expiresAt` to `now + sessionTimeout`.
   *
   * @default 3_600_000
   */
  readonly sessionTimeout?: number;
  /**
   * Absolute cap on a session's life, counted from `createdAt` (ms). Sliding never extends a
   * session past it. At least `sessionTimeout`.
   *
   * @default undefined (no cap)
   */
  readonly maxSessionLifetime?: number;
}

/** A policy with its default applied and checked. */
export interface ResolvedSessionPolicy {
  readonly sessionTimeout: number;
  readonly maxSessionLifetime: number | undefined;
}

/**
 * Applies the default and checks a policy.
 *
 * @param policy the policy as given
 * @returns the checked policy
 * @throws {TypeError} naming `sessionTimeout` or `maxSessionLifetime` when it is not a
 *   positive integer number of milliseconds, or when the cap is below the timeout
 * @example
 * ```ts
 * resolveSessionPolicy({ sessionTimeout: 0 }); // throws: Argument "sessionTimeout" must be ...
 * ```
 */
export function resolveSessionPolicy(policy: SessionPolicy = {}): ResolvedSessionPolicy {
  const sessionTimeout = policy.sessionTimeout ?? SESSION_TIMEOUTS.standard;
  if (!isDuration(sessionTimeout)) {
    throw new TypeError(
      SessionMessages.invalidArgument('sessionTimeout', DURATION, sessionTimeout),
    );
  }
  const maxSessionLifetime = policy.maxSessionLifetime;
  if (maxSessionLifetime !== undefined) {
    if (!isDuration(maxSessionLifetime)) {
      throw new TypeError(
        SessionMessages.invalidArgument('maxSessionLifetime', DURATION, maxSessionLifetime),
      );
    }
    if (maxSessionLifetime < sessionTimeout) {
      throw new TypeError(
        SessionMessages.invalidArgument(
          'maxSessionLifetime',
          `at least sessionTimeout (${sessionTimeout} ms)`,
          maxSessionLifetime,
        ),
      );
    }
  }
  return Object.freeze({ sessionTimeout, maxSessionLifetime });
}

const DURATION = 'a positive integer number of milliseconds';

function isDuration(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
}
