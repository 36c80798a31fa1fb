#!/usr/bin/env bash
# Runs the Redis suites on ioredis 6; the dev install (package.json) is ioredis 5.
#
# ioredis 6 goes into a temporary directory, never into the project: package.json,
# package-lock.json and node_modules stay as they are, whatever happens. Jest resolves every
# import of `ioredis` there (MESH_IOREDIS_DIR, see jest.config.js), and test/stores/
# redis-ioredis.spec.ts fails unless the run used ioredis 6 (MESH_IOREDIS_MAJOR). Before the
# tests, the library's Redis code is type-checked against ioredis 6's declarations.
#
# IOREDIS6_VERSION picks the version (default: the newest 6.x).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"

version="${IOREDIS6_VERSION:-^6}"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/mesh-ioredis6-XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

echo "test:ioredis6: installing ioredis@$version into $tmp"
echo '{ "private": true }' >"$tmp/package.json"
npm install --prefix "$tmp" --no-audit --no-fund --no-package-lock --loglevel=error \
  "ioredis@$version"
ioredis_dir="$tmp/node_modules/ioredis"
installed="$(node -p "require('$ioredis_dir/package.json').version")"
if [ "${installed%%.*}" != 6 ]; then
  echo "test:ioredis6: expected ioredis 6, installed $installed" >&2
  exit 1
fi
echo "test:ioredis6: ioredis $installed"

# The library's Redis code, and what an app passes it, against ioredis 6's declarations.
cat >"$tmp/probe.mts" <<PROBE
import { Cluster, Redis } from 'ioredis';
import { RedisSessionStore } from '$root/lib/redis.js';

const encryptionKeys = [Buffer.alloc(32)];
const stores: RedisSessionStore[] = [
  new RedisSessionStore({ client: new Redis({ lazyConnect: true }), encryptionKeys }),
  new RedisSessionStore({ client: new Redis({ protocol: 2, lazyConnect: true }), encryptionKeys }),
  new RedisSessionStore({
    client: new Redis({ replyMapping: 'resp3', lazyConnect: true }),
    encryptionKeys,
  }),
  new RedisSessionStore({ client: new Cluster([{ host: '127.0.0.1', port: 1 }]), encryptionKeys }),
  new RedisSessionStore({
    redisOptions: { sentinels: [{ host: '127.0.0.1', port: 1 }], name: 'mymaster' },
    encryptionKeys,
  }),
];
const client: Redis | Cluster = stores[0].client;
void client;
PROBE
cat >"$tmp/tsconfig.json" <<TSCONFIG
{
  "extends": "$root/tsconfig.json",
  "compilerOptions": {
    "noEmit": true,
    "rootDir": "/",
    "types": ["node"],
    "typeRoots": ["$root/node_modules/@types"],
    "paths": {
      "ioredis": ["$ioredis_dir/built/index.d.ts"],
      "ioredis/*": ["$ioredis_dir/*"]
    }
  },
  "include": ["$root/lib/redis.ts", "$root/lib/stores/redis/**/*.ts", "$tmp/probe.mts"]
}
TSCONFIG
echo "test:ioredis6: type-checking lib/stores/redis against ioredis $installed"
npx --no-install tsc -p "$tmp/tsconfig.json"

echo "test:ioredis6: the Redis suites on ioredis $installed"
MESH_IOREDIS_DIR="$ioredis_dir" MESH_IOREDIS_MAJOR=6 NODE_OPTIONS='--experimental-vm-modules --disable-warning=ExperimentalWarning' \
  npx --no-install jest --runInBand \
  test/stores test/e2e/redis-outage.e2e-spec.ts test/e2e/redis-instances.e2e-spec.ts
