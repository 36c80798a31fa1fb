import { describeValue } from './describe-value.js';

/**
 * Startup errors for bad options, shared by every options object of the package (the module's,
 * the Redis store's, the client's). `owner` names what was being configured.
 */
export const OptionMessages = {
  /** An option has a value of the wrong type or range. */
  invalidOption: (owner: string, option: string, expected: string, got: unknown): string =>
    `${owner}: option "${option}" must be ${expected}; got ${describeValue(got)}`,
  /** An options object has a key no option is named; the closest known key is suggested. */
  unknownOption: (owner: string, option: string, closest: string | undefined): string =>
    `${owner}: unknown option "${option}"${
      closest === undefined ? '' : `; did you mean "${closest}"?`
    }`,
} as const;
