import { closestKey, type OptionChecks } from './option-checks.js';

/**
 * Options of `RateLimiter`, and of the module's `rateLimit` and `handshake.rateLimit` options.
 *
 * @example
 * ```ts
 * const options: RateLimiterOptions = { maxRequests: 100, windowMs: 60_000 };
 * ```
 */
export interface RateLimiterOptions {
  /** Requests allowed per window. Integer, at least 1. */
  maxRequests: number;
  /** Window length (ms). Positive integer. */
  windowMs: number;
  /**
   * How long a key stays blocked once over the limit (ms).
   *
   * @default windowMs
   */
  blockDuration?: number;
}

/** What is wrong with rate-limit options: which field, what it must be, and what it is. */
export interface RateLimiterOptionsProblem {
  /** The bad field, or `undefined` when the options are not an object at all. */
  field: string | undefined;
  /** What the field must be, for the error message. */
  expected: string;
  /** The value given. */
  got: unknown;
}

const KNOWN_KEYS = ['maxRequests', 'windowMs', 'blockDuration'] as const;
const DURATION = 'a positive integer number of milliseconds';

/**
 * The one check of rate-limit options, shared by the module's `rateLimit`, the handshake's
 * `handshake.rateLimit` and the `RateLimiter` constructor: `maxRequests` an integer of at
 * least 1; `windowMs` and `blockDuration` (optional) positive integer numbers of milliseconds;
 * no other key.
 *
 * @param value the options as given
 * @returns the first problem, or `undefined` when the options are valid
 * @example
 * ```ts
 * findRateLimiterOptionsProblem({ maxRequests: 0, windowMs: 1000 })?.field; // 'maxRequests'
 * ```
 */
export function findRateLimiterOptionsProblem(
  value: unknown,
): RateLimiterOptionsProblem | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return {
      field: undefined,
      expected: 'false or { maxRequests, windowMs, blockDuration? }',
      got: value,
    };
  }
  for (const key of Object.keys(value)) {
    if ((KNOWN_KEYS as readonly string[]).includes(key)) continue;
    const closest = closestKey(key, KNOWN_KEYS);
    return {
      field: key,
      expected: closest === undefined ? 'absent' : `absent (did you mean "${closest}"?)`,
      got: (value as Record<string, unknown>)[key],
    };
  }
  const { maxRequests, windowMs, blockDuration } = value as Partial<RateLimiterOptions>;
  if (!Number.isInteger(maxRequests) || (maxRequests as number) < 1) {
    return { field: 'maxRequests', expected: 'an integer of at least 1', got: maxRequests };
  }
  if (!isDuration(windowMs)) {
    return { field: 'windowMs', expected: DURATION, got: windowMs };
  }
  if (blockDuration !== undefined && !isDuration(blockDuration)) {
    return { field: 'blockDuration', expected: DURATION, got: blockDuration };
  }
  return undefined;
}

/**
 * Validates a rate-limit option and fills in `blockDuration` (default `windowMs`).
 *
 * @param checks the checks of the options object it belongs to
 * @param option the option's name in error messages, such as `'rateLimit'` or
 *   `'handshake.rateLimit'`
 * @param value the option as given
 * @returns the options with every field set
 * @throws {Error} naming the bad option, such as `rateLimit.windowMs`, or an unknown key with
 *   the closest known one
 * @example
 * ```ts
 * resolveRateLimiterOptions(checks, 'rateLimit', { maxRequests: 100, windowMs: 60_000 });
 * // { maxRequests: 100, windowMs: 60_000, blockDuration: 60_000 }
 * ```
 */
export function resolveRateLimiterOptions(
  checks: OptionChecks,
  option: string,
  value: unknown,
): Required<RateLimiterOptions> {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    checks.knownKeys(option, value, KNOWN_KEYS);
  }
  const problem = findRateLimiterOptionsProblem(value);
  if (problem !== undefined) {
    const name = problem.field === undefined ? option : `${option}.${problem.field}`;
    checks.fail(name, problem.expected, problem.got);
  }
  const { maxRequests, windowMs, blockDuration = windowMs } = value as RateLimiterOptions;
  return { maxRequests, windowMs, blockDuration };
}

function isDuration(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
}
