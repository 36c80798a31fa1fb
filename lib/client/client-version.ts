import { createRequire } from 'node:module';

let cached: string | undefined;

/**
 * What the client sends as `clientVersion` in its hello, for the session's metadata on the
 * server: `nestjs-mesh-session/<version>`, read once from the package's `package.json`.
 *
 * @returns the version string; `nestjs-mesh-session/unknown` when the package file cannot be
 *   read or holds no plausible version
 * @example
 * ```ts
 * clientVersion(); // 'nestjs-mesh-session/0.1.0'
 * ```
 */
export function clientVersion(): string {
  if (cached === undefined) {
    let version = 'unknown';
    try {
      // lib/client and dist/client both sit two levels below the package root.
      const pkg = createRequire(import.meta.url)('../../package.json') as { version?: unknown };
      if (typeof pkg.version === 'string' && /^[\w.+-]{1,32}$/.test(pkg.version)) {
        version = pkg.version;
      }
    } catch {
      // Bundled without its package.json: the version stays unknown.
    }
    cached = `nestjs-mesh-session/${version}`;
  }
  return cached;
}
