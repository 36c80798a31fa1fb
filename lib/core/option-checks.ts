import { OptionMessages } from './option.messages.js';

/**
 * Longest delay `setTimeout` accepts (ms); a larger one fires at once. Every option that
 * becomes a timer (intervals, timeouts) is capped at it.
 */
export const MAX_TIMER_MS = 2_147_483_647;

const DURATION = 'a positive integer number of milliseconds';

/**
 * The checks every options object of the package shares: one place for the wording of each
 * rule, and for refusing unknown keys with a suggestion. Each check throws an `Error` that names
 * the option (with its path, such as `handshake.rateLimit.windowMs`), what it must be and what
 * it got, without echoing a value that may be a secret.
 *
 * @example
 * ```ts
 * const check = new OptionChecks('MeshSessionModule');
 * check.knownKeys('', options, ['serviceId', 'sessionTimeout']);
 * const timeout = check.duration('sessionTimeout', options.sessionTimeout, 3_600_000);
 * ```
 */
export class OptionChecks {
  /** @param owner what is being configured, as error messages name it */
  constructor(readonly owner: string) {}

  /**
   * Throws the error of a bad option.
   *
   * @param option the option's path
   * @param expected what it must be, such as `'a boolean'`
   * @param got the value it has
   * @throws {Error} always
   */
  fail(option: string, expected: string, got: unknown): never {
    throw new Error(OptionMessages.invalidOption(this.owner, option, expected, got));
  }

  /**
   * Requires a plain object (not `null`, not an array) whose keys are all known.
   *
   * @param path the object's own path (`''` for the top level), prefixed to key names in errors
   * @param value the object as given
   * @param known the keys it may have
   * @param expected what to call the object when it is not one
   * @throws {Error} naming the first unknown key and the closest known one
   */
  knownKeys(
    path: string,
    value: unknown,
    known: readonly string[],
    expected = 'an object',
  ): asserts value is object {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      this.fail(path === '' ? 'options' : path, expected, value);
    }
    for (const key of Object.keys(value)) {
      if (known.includes(key)) continue;
      const closest = closestKey(key, known);
      const prefix = path === '' ? '' : `${path}.`;
      throw new Error(
        OptionMessages.unknownOption(
          this.owner,
          `${prefix}${key}`,
          closest === undefined ? undefined : `${prefix}${closest}`,
        ),
      );
    }
  }

  /**
   * A positive integer number of milliseconds, at most {@link MAX_TIMER_MS} when it becomes a
   * timer.
   *
   * @param option the option's path
   * @param value the value as given
   * @param fallback the default, used when `value` is `undefined`; without one the option is
   *   required
   * @param timer whether the value becomes a `setTimeout`/`setInterval` delay
   * @returns the duration
   */
  duration(option: string, value: unknown, fallback?: number, timer = false): number {
    if (value === undefined && fallback !== undefined) return fallback;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
      this.fail(option, DURATION, value);
    }
    if (timer && value > MAX_TIMER_MS) this.fail(option, `at most ${MAX_TIMER_MS} ms`, value);
    return value;
  }

  /**
   * An integer of at least `min`.
   *
   * @param option the option's path
   * @param value the value as given
   * @param fallback the default, used when `value` is `undefined`
   * @param min the smallest accepted value
   * @returns the integer
   */
  integer(option: string, value: unknown, fallback: number | undefined, min: number): number {
    if (value === undefined && fallback !== undefined) return fallback;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
      this.fail(option, `an integer of at least ${min}`, value);
    }
    return value;
  }

  /**
   * A boolean.
   *
   * @param option the option's path
   * @param value the value as given
   * @param fallback the default, used when `value` is `undefined`
   * @returns the boolean
   */
  boolean(option: string, value: unknown, fallback: boolean): boolean {
    if (value === undefined) return fallback;
    if (typeof value !== 'boolean') this.fail(option, 'a boolean', value);
    return value;
  }
}

/**
 * The known key nearest to `key` by edit distance (case-insensitive), or `undefined` when none
 * is close enough to be a plausible typo.
 *
 * @param key the unknown key
 * @param known the keys it could have meant
 * @returns the closest key, if any is within half of the key's length
 * @example
 * ```ts
 * closestKey('sessionTimout', ['sessionTimeout', 'store']); // 'sessionTimeout'
 * ```
 */
export function closestKey(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return bestDistance <= Math.max(2, Math.ceil(key.length / 2)) ? best : undefined;
}

/** Levenshtein distance, with one row of memory. */
function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = Math.min(
        row[j] + 1,
        row[j - 1] + 1,
        diagonal + (a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1),
      );
      diagonal = above;
    }
  }
  return row[b.length];
}
