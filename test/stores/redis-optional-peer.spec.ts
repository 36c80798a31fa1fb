import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

/*
 * ioredis is an optional peer dependency. In a separate Node process where ioredis cannot be
 * resolved (as in an app that never installed it), the built package must import, and only
 * creating a Redis client must fail, saying what to install.
 *
 * It runs against dist/ (built by `npm run build`, as CI does before the tests); when dist/ is
 * missing, it builds the package into node_modules/.cache first.
 */

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');

function builtEntry(): Promise<string> | string {
  const dist = join(root, 'dist/index.js');
  if (existsSync(dist)) return dist;
  const out = join(root, 'node_modules/.cache/nestjs-mesh-session-peer-test');
  return run('npx', ['tsc', '-p', 'tsconfig.build.json', '--outDir', out], { cwd: root }).then(() =>
    join(out, 'index.js'),
  );
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

const PROBE = (entry: string) => `
import Module from 'node:module';
const lib = await import(${JSON.stringify(pathToFileURL(entry).href)});
const ioredisLoaded = Object.keys(Module._cache).some((file) => file.includes('/ioredis/'));
let error;
try {
  new lib.RedisSessionStore({ url: 'redis://127.0.0.1:1', encryptionKeys: [Buffer.alloc(32, 1)] });
} catch (e) {
  error = e.message;
}
console.log(JSON.stringify({
  imported: typeof lib.MeshSessionModule === 'function' && typeof lib.RedisSessionStore === 'function',
  ioredisLoaded,
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

  it('imports without ioredis; creating a client says to install it', async () => {
    const entry = await builtEntry();
    writeFileSync(join(dir, 'probe.mjs'), PROBE(entry));
    const { stdout } = await run(
      process.execPath,
      ['--import', pathToFileURL(join(dir, 'hide-ioredis.mjs')).href, join(dir, 'probe.mjs')],
      { cwd: root, env: { ...process.env, NODE_OPTIONS: '' }, timeout: 60_000 },
    );
    expect(JSON.parse(stdout.trim().split('\n').pop() as string)).toEqual({
      imported: true,
      ioredisLoaded: false,
      error:
        'RedisSessionStore needs the optional peer dependency "ioredis", which is not installed: run `npm install ioredis`',
    });
  }, 90_000);
});
