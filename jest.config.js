/*
 * MESH_IOREDIS_DIR, when set, is the directory of another ioredis install (its package root):
 * every import of `ioredis` and `ioredis/...`, from the library and from the tests, resolves
 * there. scripts/test-ioredis-6.sh uses it to run the Redis suites on the other ioredis major.
 */
const ioredisDir = process.env.MESH_IOREDIS_DIR;

/** @type {import('jest').Config} */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  roots: ['<rootDir>/lib', '<rootDir>/test'],
  testMatch: ['**/*.spec.ts', '**/*.e2e-spec.ts'],
  moduleNameMapper: {
    '^nestjs-mesh-session$': '<rootDir>/lib/index.ts',
    '^nestjs-mesh-session/redis$': '<rootDir>/lib/redis.ts',
    '^nestjs-mesh-session/health$': '<rootDir>/lib/health.ts',
    '^nestjs-mesh-session/grpc$': '<rootDir>/lib/grpc.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
    ...(ioredisDir ? { '^ioredis$': ioredisDir, '^ioredis/(.*)$': `${ioredisDir}/$1` } : {}),
  },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }],
  },
  testTimeout: 30000,
};
