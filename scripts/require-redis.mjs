// Stops a test run at once, with one line, when the Redis binaries are missing: the Redis suites
// start their own redis-server (and redis-cli for Cluster), and without them every one of those
// tests would fail on its own. It is the globalSetup of the `redis` Jest project (jest.config.js),
// so it runs only when a suite that needs Redis is about to; `node scripts/require-redis.mjs`
// runs the same check.
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { pathToFileURL } from 'node:url';

const BINARIES = ['redis-server', 'redis-cli'];

/** The one line printed when `binary` is missing. */
export const redisMissing = (binary) =>
  `${binary} not found on PATH: install Redis (apt-get install redis-server, brew install redis) or run \`npm run test:unit\` for the tests that need no Redis.`;

/** Whether an executable `binary` is on `path` (a PATH value). */
export function onPath(binary, path = process.env.PATH ?? '') {
  return path
    .split(delimiter)
    .filter((dir) => dir !== '')
    .some((dir) => {
      try {
        accessSync(join(dir, binary), constants.X_OK);
        return true;
      } catch {
        return false;
      }
    });
}

/** Exits with code 1 and one line on stderr when a Redis binary is missing. */
export default function requireRedis() {
  const missing = BINARIES.find((binary) => !onPath(binary));
  if (missing === undefined) return;
  // Not a thrown error: Jest would print it with a stack trace, and this is one line of advice.
  process.stderr.write(`${redisMissing(missing)}\n`);
  process.exit(1);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  requireRedis();
}
