import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

/*
 * @opentelemetry/api is an optional peer dependency. In a Node process where it cannot be
 * resolved (an app that never installed it), the package must load and work: the module and
 * MeshClient fall back to the no-op recorder, and nothing of OpenTelemetry is loaded. The
 * published declarations reachable from every entry must not name it either, so that a
 * consumer compiling with skipLibCheck: false needs no OpenTelemetry types.
 *
 * It runs against dist/ (built by `npm run build`, as CI does before the tests); when dist/ is
 * missing, it builds the package into node_modules/.cache first.
 */

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');
/** Inside the repository, so that the probe's bare imports (Nest) resolve. */
const work = join(root, 'node_modules/.cache/mesh-otel-optional-peer');

async function builtDir(): Promise<string> {
  const dist = join(root, 'dist');
  if (existsSync(join(dist, 'index.js')) && existsSync(join(dist, 'telemetry'))) return dist;
  const out = join(root, 'node_modules/.cache/nestjs-mesh-session-otel-peer-test');
  await run('npx', ['tsc', '-p', 'tsconfig.build.json', '--outDir', out], { cwd: root });
  return out;
}

const HIDE_OPENTELEMETRY = `
import Module, { register } from 'node:module';
register('data:text/javascript,' + encodeURIComponent(\`
  export async function resolve(specifier, context, next) {
    if (specifier.startsWith('@opentelemetry/')) {
      const error = new Error("Cannot find package '" + specifier + "'");
      error.code = 'ERR_MODULE_NOT_FOUND';
      throw error;
    }
    return next(specifier, context);
  }\`));
const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (request.startsWith('@opentelemetry/')) {
    const error = new Error("Cannot find module '" + request + "'");
    error.code = 'MODULE_NOT_FOUND';
    throw error;
  }
  return resolveFilename.call(this, request, ...rest);
};
`;

const PROBE = (index: string) => `
import 'reflect-metadata';
import Module from 'node:module';
import { Controller, Get, Module as NestModule, UseGuards } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
const lib = await import(${JSON.stringify(pathToFileURL(index).href)});
class Whoami { get() { return { ok: true }; } }
Reflect.decorate([Get('whoami')], Whoami.prototype, 'get', Object.getOwnPropertyDescriptor(Whoami.prototype, 'get'));
UseGuards(lib.SessionGuard)(Whoami);
Controller()(Whoami);
class App {}
NestModule({
  imports: [lib.MeshSessionModule.forRoot({ requestSigning: false, cleanupInterval: false })],
  controllers: [Whoami],
})(App);
const app = await NestFactory.create(App, { logger: false });
await app.listen(0, '127.0.0.1');
const base = 'http://127.0.0.1:' + app.getHttpServer().address().port;
const session = await app.get(lib.SessionManager).createSession('billing', Buffer.alloc(32, 7));
const allowed = (await fetch(base + '/whoami', { headers: { 'x-mesh-session-id': session.id } })).status;
const refused = (await fetch(base + '/whoami')).status;
const noop = app.get(lib.SESSION_TELEMETRY) === lib.NOOP_SESSION_TELEMETRY;
const client = new lib.MeshClient({
  serviceId: 'caller',
  privateKey: lib.generateIdentityKeyPair().privateKey,
  services: { greeter: { url: 'http://127.0.0.1:9', publicKey: lib.generateIdentityKeyPair().publicKey } },
  timeout: 2000,
});
const handshake = await client.connect('greeter').connect().then(() => 'connected', (e) => e.reason);
await app.close();
const loaded = Object.keys(Module._cache).filter((file) => file.includes('/@opentelemetry/'));
console.log(JSON.stringify({ allowed, refused, noop, handshake, loaded }));
`;

/** Modules named by `from '...'`, `import('...')`, `import '...'` and type references. */
const MODULE_SPECIFIER =
  /(?:from\s+|import\s*\(\s*|import\s+)['"]([^'"]+)['"]|reference\s+types=["']([^"']+)["']/g;

/** Every declaration file reachable from `entry` through relative imports, with its bare ones. */
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

describe('@opentelemetry/api as an optional peer dependency', () => {
  beforeAll(() => mkdirSync(work, { recursive: true }));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('runs the module and MeshClient without it, recording nothing and loading none of it', async () => {
    const dist = await builtDir();
    writeFileSync(join(work, 'hide-opentelemetry.mjs'), HIDE_OPENTELEMETRY);
    writeFileSync(join(work, 'probe.mjs'), PROBE(join(dist, 'index.js')));
    const { stdout } = await run(
      process.execPath,
      [
        '--import',
        pathToFileURL(join(work, 'hide-opentelemetry.mjs')).href,
        join(work, 'probe.mjs'),
      ],
      { cwd: root, env: { ...process.env, NODE_OPTIONS: '' }, timeout: 60_000 },
    );
    expect(JSON.parse(stdout.trim().split('\n').pop() as string)).toEqual({
      allowed: 200,
      refused: 401,
      noop: true,
      handshake: 'network',
      loaded: [],
    });
  }, 90_000);

  it('keeps it out of the declarations every entry reaches', async () => {
    const dist = await builtDir();
    for (const entry of ['index', 'redis', 'health', 'grpc']) {
      const graph = declarationGraph(join(dist, `${entry}.d.ts`));
      expect(graph.size).toBeGreaterThan(3);
      const naming = [...graph]
        .filter(([, bare]) => bare.some((id) => id.startsWith('@opentelemetry/')))
        .map(([file]) => relative(dist, file));
      expect({ entry, naming }).toEqual({ entry, naming: [] });
    }
    // Where the recorder does use the API's types: files no entry's declarations reach.
    const internal = declarationGraph(join(dist, 'telemetry/otel-session-telemetry.d.ts'));
    expect(
      [...internal].some(([, bare]) => bare.some((id) => id.startsWith('@opentelemetry/'))),
    ).toBe(true);
  }, 90_000);
});
