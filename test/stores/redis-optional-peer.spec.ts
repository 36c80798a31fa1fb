import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { RedisStoreMessages } from '../../lib/stores/redis/redis-store.messages.js';

/*
 * ioredis is an optional peer dependency. In a separate Node process where ioredis cannot be
 * resolved (as in an app that never installed it), the package's root entry must import
 * without it, and so must its `nestjs-mesh-session/redis` entry: only creating a Redis client
 * must fail, saying what to install.
 *
 * It runs against dist/ (built by `npm run build`, as CI does before the tests); when dist/ is
 * missing, it builds the package into node_modules/.cache first.
 */

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');

/** The built root entry and Redis entry (`dist/index.js`, `dist/redis.js`). */
async function builtEntries(): Promise<{ index: string; redis: string }> {
  const dist = join(root, 'dist');
  if (existsSync(join(dist, 'index.js')) && existsSync(join(dist, 'redis.js'))) {
    return { index: join(dist, 'index.js'), redis: join(dist, 'redis.js') };
  }
  const out = join(root, 'node_modules/.cache/nestjs-mesh-session-peer-test');
  await run('npx', ['tsc', '-p', 'tsconfig.build.json', '--outDir', out], { cwd: root });
  return { index: join(out, 'index.js'), redis: join(out, 'redis.js') };
}

/** Modules named by `from '...'`, `import('...')`, `import '...'` and type references. */
const MODULE_SPECIFIER =
  /(?:from\s+|import\s*\(\s*|import\s+)['"]([^'"]+)['"]|reference\s+types=["']([^"']+)["']/g;

/**
 * Every declaration file reachable from `entry` through relative imports, with the bare modules
 * each one names.
 */
function declarationGraph(entry: string): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const queue = [entry];
  for (let file = queue.pop(); file !== undefined; file = queue.pop()) {
    if (graph.has(file)) continue;
    const bare: string[] = [];
    graph.set(file, bare);
    for (const match of readFileSync(file, 'utf8').matchAll(MODULE_SPECIFIER)) {
      const id = match[1] ?? match[2];
      if (!id.startsWith('.')) {
        bare.push(id);
        continue;
      }
      const base = resolve(dirname(file), id);
      const found = [base.replace(/\.js$/, '.d.ts'), `${base}.d.ts`, join(base, 'index.d.ts')].find(
        (candidate) => existsSync(candidate),
      );
      if (found === undefined) throw new Error(`${id}, imported by ${file}, has no declarations`);
      queue.push(found);
    }
  }
  return graph;
}

const HIDE_IOREDIS = `
import Module, { register } from 'node:module';
// ESM imports of ioredis fail as if it were not installed...
register('data:text/javascript,' + encodeURIComponent(\`
  export async function resolve(specifier, context, next) {
    if (specifier === 'ioredis' || specifier.startsWith('ioredis/')) {
      const error = new Error("Cannot find package 'ioredis'");
      error.code = 'ERR_MODULE_NOT_FOUND';
      throw error;
    }
    return next(specifier, context);
  }\`));
// ...and so do require() calls.
const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (request === 'ioredis' || request.startsWith('ioredis/')) {
    const error = new Error("Cannot find module 'ioredis'");
    error.code = 'MODULE_NOT_FOUND';
    throw error;
  }
  return resolveFilename.call(this, request, ...rest);
};
`;

const PROBE = (entries: { index: string; redis: string }) => `
import Module from 'node:module';
const ioredisLoaded = () => Object.keys(Module._cache).some((file) => file.includes('/ioredis/'));
const root = await import(${JSON.stringify(pathToFileURL(entries.index).href)});
const rootImported = typeof root.MeshSessionModule === 'function';
const rootNamesRedis = 'RedisSessionStore' in root;
const ioredisLoadedByRoot = ioredisLoaded();
const redis = await import(${JSON.stringify(pathToFileURL(entries.redis).href)});
const redisImported = typeof redis.RedisSessionStore === 'function';
let error;
try {
  new redis.RedisSessionStore({ url: 'redis://127.0.0.1:1', encryptionKeys: [Buffer.alloc(32, 1)] });
} catch (e) {
  error = e.message;
}
console.log(JSON.stringify({
  rootImported,
  rootNamesRedis,
  ioredisLoadedByRoot,
  redisImported,
  ioredisLoaded: ioredisLoaded(),
  error,
}));
`;

describe('ioredis as an optional peer dependency', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'mesh-peer-'));
    writeFileSync(join(dir, 'hide-ioredis.mjs'), HIDE_IOREDIS);
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('imports both entries without ioredis; creating a client says to install it', async () => {
    writeFileSync(join(dir, 'probe.mjs'), PROBE(await builtEntries()));
    const { stdout } = await run(
      process.execPath,
      ['--import', pathToFileURL(join(dir, 'hide-ioredis.mjs')).href, join(dir, 'probe.mjs')],
      { cwd: root, env: { ...process.env, NODE_OPTIONS: '' }, timeout: 60_000 },
    );
    expect(JSON.parse(stdout.trim().split('\n').pop() as string)).toEqual({
      rootImported: true,
      rootNamesRedis: false,
      ioredisLoadedByRoot: false,
      redisImported: true,
      ioredisLoaded: false,
      error: RedisStoreMessages.ioredisMissing(),
    });
  }, 90_000);

  it("keeps ioredis out of the root entry's declarations; the Redis entry's name it", async () => {
    const entries = await builtEntries();
    const namesIoredis = (entry: string) =>
      [...declarationGraph(entry.replace(/\.js$/, '.d.ts'))]
        .filter(([, bare]) => bare.some((id) => id === 'ioredis' || id.startsWith('ioredis/')))
        .map(([file]) => relative(dirname(entries.index), file));
    const rootGraph = declarationGraph(entries.index.replace(/\.js$/, '.d.ts'));
    expect(rootGraph.size).toBeGreaterThan(10);
    expect(namesIoredis(entries.index)).toEqual([]);
    expect([...rootGraph.keys()].filter((file) => file.includes('/stores/redis/'))).toEqual([]);
    expect(namesIoredis(entries.redis)).toContain('stores/redis/redis-session.store.d.ts');
  }, 90_000);
});
