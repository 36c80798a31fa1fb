import { createRequire } from 'node:module';

/**
 * The version in the package's own `package.json`, read when asked: lib/cli and dist/cli both
 * sit two levels below the package root.
 *
 * @returns the version, or `undefined` when the file cannot be read or holds none
 * @example
 * ```ts
 * packageVersion(); // '0.1.0'
 * ```
 */
export function packageVersion(): string | undefined {
  try {
    const pkg = createRequire(import.meta.url)('../../package.json') as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : undefined;
  } catch {
    return undefined;
  }
}
