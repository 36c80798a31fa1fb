import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/*
 * Two projects: `redis`, the suites that start their own redis-server, and `no-redis`, all the
 * others (`npm run test:unit` runs only those: `--selectProjects no-redis`). Which suites need
 * Redis is read from their imports, so a new suite lands in the right project by itself: a
 * suite needs Redis when it imports, directly or through other test files, one of
 * REDIS_STARTERS. The `redis` project's globalSetup stops the run at once, with one line, when
 * redis-server is not installed.
 *
 * MESH_IOREDIS_DIR, when set, is the directory of another ioredis install (its package root):
 * every import of `ioredis` and `ioredis/...`, from the library and from the tests, resolves
 * there. scripts/test-ioredis-6.sh uses it to run the Redis suites on the other ioredis major.
 */
const ioredisDir = process.env.MESH_IOREDIS_DIR;
const rootDir = dirname(fileURLToPath(import.meta.url));

/**
 * The test-support modules that start redis-server, each with the imports of it that do
 * (`undefined`: any import). Other exports of redis-server.ts (freePort, realSleep) start nothing.
 */
const REDIS_STARTERS = {
  'test/support/redis-server.ts': ['RedisServer', 'RedisCluster'],
  'test/support/redis-sentinel.ts': undefined,
  'test/support/store-factories.ts': undefined,
};
const SUITE = /\.(spec|e2e-spec)\.ts$/;

/** Every file under `dir` (relative to the root), node_modules left out. */
function filesUnder(dir) {
  return readdirSync(join(rootDir, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : filesUnder(path);
    return [path];
  });
}

/**
 * The imports of a TypeScript file: each resolved specifier with the value names it imports
 * (`undefined` for a namespace, default, side-effect or dynamic import). Type-only imports are
 * left out: they start nothing.
 */
function importsOf(file) {
  const source = readFileSync(join(rootDir, file), 'utf8');
  const found = [];
  const statement = /^\s*(?:import|export)\s+(type\s+)?([^'";]*?)\s*from\s*['"]([^'"]+)['"]/gm;
  for (const [, typeOnly, clause, specifier] of source.matchAll(statement)) {
    if (typeOnly) continue;
    const named = /^\{([^}]*)\}$/.exec(clause.trim());
    const names = named?.[1]
      .split(',')
      .map((part) => part.trim())
      .filter((part) => part !== '' && !part.startsWith('type '))
      .map((part) => part.split(/\s+as\s+/)[0]);
    if (names?.length === 0) continue;
    found.push({ specifier, names });
  }
  for (const [, specifier] of source.matchAll(/\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g)) {
    found.push({ specifier, names: undefined });
  }
  for (const [, specifier] of source.matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm)) {
    found.push({ specifier, names: undefined });
  }
  return found.flatMap(({ specifier, names }) => {
    if (!specifier.startsWith('.')) return [];
    const path = relative(rootDir, resolve(rootDir, dirname(file), specifier));
    const ts = path.replace(/\.[cm]?js$/, '.ts');
    return existsSync(join(rootDir, ts)) ? [{ path: ts, names }] : [];
  });
}

const needsRedisMemo = new Map();

/** Whether importing `file` (a test file) starts redis-server, directly or through its imports. */
function needsRedis(file) {
  if (needsRedisMemo.has(file)) return needsRedisMemo.get(file);
  needsRedisMemo.set(file, false); // an import cycle adds nothing
  const result = importsOf(file).some(({ path, names }) => {
    if (path in REDIS_STARTERS) {
      const starters = REDIS_STARTERS[path];
      return (
        starters === undefined || names === undefined || names.some((n) => starters.includes(n))
      );
    }
    return path.startsWith('test/') && needsRedis(path);
  });
  needsRedisMemo.set(file, result);
  return result;
}

const redisSuites = ['lib', 'test']
  .flatMap(filesUnder)
  .filter((file) => SUITE.test(file) && needsRedis(file));
const escape = (path) => path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** What both projects share. */
const base = {
  rootDir,
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  roots: ['<rootDir>/lib', '<rootDir>/test'],
  moduleNameMapper: {
    '^nestjs-mesh-session$': '<rootDir>/lib/index.ts',
    '^nestjs-mesh-session/redis$': '<rootDir>/lib/redis.ts',
    '^nestjs-mesh-session/health$': '<rootDir>/lib/health.ts',
    '^nestjs-mesh-session/grpc$': '<rootDir>/lib/grpc.ts',
    '^nestjs-mesh-session/testing$': '<rootDir>/lib/testing.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
    ...(ioredisDir ? { '^ioredis$': ioredisDir, '^ioredis/(.*)$': `${ioredisDir}/$1` } : {}),
  },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }],
  },
};

/** @type {import('jest').Config} */
export default {
  testTimeout: 30000,
  projects: [
    {
      ...base,
      displayName: 'no-redis',
      testMatch: ['**/*.spec.ts', '**/*.e2e-spec.ts'],
      testPathIgnorePatterns: [
        '/node_modules/',
        ...redisSuites.map((file) => `^${escape(join(rootDir, file))}$`),
      ],
    },
    ...(redisSuites.length === 0
      ? []
      : [
          {
            ...base,
            displayName: 'redis',
            testMatch: redisSuites.map((file) => `<rootDir>/${file}`),
            globalSetup: '<rootDir>/scripts/require-redis.mjs',
          },
        ]),
  ],
};
