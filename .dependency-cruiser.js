// Architecture rules for lib/, run by `npm run lint` (depcruise lib --config .dependency-cruiser.js).
//
// lib/ is built in rings; imports point inward only:
//   1. core      lib/core/**                         plain TypeScript, no framework, no backend
//   2. protocol  lib/protocol/**                     handshake and request signing; imports core
//   3. stores    lib/stores/memory/**, lib/stores/redis/**
//                                                     one backend each; imports core and protocol
//   4. features  lib/{monitoring,guard,handshake,client,health,cleanup,grpc,telemetry}/**
//                                                     Nest pieces; imports core, protocol and the
//                                                     features FEATURE_IMPORTS allows
//   5. wiring    lib/*.ts (module, providers, constants, entries index.ts / redis.ts / health.ts /
//                grpc.ts)
//                and lib/options/**: may import anything further in.
//   lib/cli/** is an entry point of its own (the keygen binary): core and protocol only.
//   lib/testing/** is the testing kit (nestjs-mesh-session/testing): it may import anything
//   further in, only its entry lib/testing.ts imports it, and it never loads a test runner.
//
// Each rule names one constraint; its `comment` is what `depcruise` prints next to a violation.

/** Which other feature folders each feature folder may import (its own folder is always allowed).
 *  Keep this acyclic: it is checked below, and a feature -> feature import outside it is an error,
 *  so a cycle between feature folders cannot appear. */
const FEATURE_IMPORTS = {
  monitoring: [],
  guard: [],
  handshake: ['monitoring', 'guard'],
  client: ['telemetry'],
  health: [],
  cleanup: [],
  grpc: ['guard', 'handshake', 'client'],
  telemetry: [],
};
const FEATURES = Object.keys(FEATURE_IMPORTS);

assertAcyclic(FEATURE_IMPORTS);

const anyOf = (folders) => `^lib/(${folders.join('|')})/`;

const CORE = '^lib/core/';
const PROTOCOL = '^lib/protocol/';
const MEMORY_STORE = '^lib/stores/memory/';
const REDIS_STORE = '^lib/stores/redis/';
const STORES = '^lib/stores/';
const FEATURE = anyOf(FEATURES);
const CLI = '^lib/cli/';
/** The testing kit (nestjs-mesh-session/testing): its folder and its entry. */
const TESTING = ['^lib/testing/', '^lib/testing\\.ts$'];
/** Top-level lib/*.ts files (module, providers, constants, the package entries) and lib/options/**. */
const WIRING = ['^lib/[^/]+$', '^lib/options/'];
const KNOWN_FOLDERS = anyOf([
  'core',
  'protocol',
  'stores/memory',
  'stores/redis',
  ...FEATURES,
  'options',
  'cli',
  'testing',
]);

/** Test files are not part of the package (tsconfig.build.json leaves out lib/**\/*.spec.ts): the ring
 *  rules apply to the shipped code only. */
const TEST_FILE = '\\.(spec|test|e2e-spec)\\.[cm]?[jt]sx?$';

// npm packages: matched both resolved (node_modules/…) and, should one be missing, by bare name.
const npm = (name) => `(^|/)node_modules/${name}/|^${name}(/|$)`;
const NEST = npm('@nestjs/[^/]+');
const IOREDIS = npm('ioredis');
const TERMINUS = npm('@nestjs/terminus');
const SCHEDULE = npm('@nestjs/schedule');
/** The optional gRPC peers: Nest's microservices package, grpc-js and proto-loader. */
const GRPC_PEERS = [npm('@nestjs/microservices'), npm('@grpc/grpc-js'), npm('@grpc/proto-loader')];
/** OpenTelemetry: the optional peer @opentelemetry/api, and the SDK packages (dev only). */
const OPENTELEMETRY = npm('@opentelemetry/[^/]+');
const OPENTELEMETRY_API = npm('@opentelemetry/api');

/** A `from` restriction on shipped lib code under `path`. */
const fromLib = (path, pathNot = []) => ({ path, pathNot: [TEST_FILE, ...[pathNot].flat()] });

/** @type {import('dependency-cruiser').IConfiguration} */
export default {
  forbidden: [
    // ---- every file -----------------------------------------------------------------------------
    {
      name: 'no-circular',
      severity: 'error',
      comment:
        'Two or more lib files import each other (directly or through others, type-only imports ' +
        'included). Break the cycle: move the shared piece further in (to core or protocol) or ' +
        'invert the dependency through a contract.',
      from: { path: '^lib/' },
      to: { circular: true },
    },
    {
      name: 'lib-not-to-test-sample-bench',
      severity: 'error',
      comment:
        'A lib file imports a test, sample or bench file. Those are not published; the package ' +
        'would break (or drag test code along). Move what is shared into lib/.',
      from: fromLib('^lib/'),
      to: { path: ['^(test|sample|bench|dist-sample|coverage)/', TEST_FILE] },
    },
    {
      name: 'lib-not-to-unresolvable',
      severity: 'error',
      comment:
        'A lib import does not resolve (missing file, or a .js specifier with no .ts behind it). ' +
        'Besides breaking the build, an unresolved import would slip past every path rule here.',
      from: fromLib('^lib/'),
      to: { couldNotResolve: true },
    },
    {
      name: 'lib-folder-outside-rings',
      severity: 'error',
      comment:
        'This lib folder belongs to no ring, so no ring rule guards it. Put the file in an ' +
        'existing ring folder or add the folder to .dependency-cruiser.js with its own rules.',
      from: fromLib('^lib/[^/]+/', KNOWN_FOLDERS),
      to: {},
    },

    // ---- 1. core --------------------------------------------------------------------------------
    {
      name: 'core-not-to-nestjs',
      severity: 'error',
      comment:
        'lib/core is framework-free: no @nestjs/* import (not even type-only). Keep Nest ' +
        'decorators, tokens and exceptions in the feature or wiring ring.',
      from: fromLib(CORE),
      to: { path: NEST },
    },
    {
      name: 'core-only-to-core',
      severity: 'error',
      comment:
        'lib/core imports no other lib folder or top-level lib file: everything else depends on ' +
        'core, never the reverse. Move the needed piece into core or pass it in.',
      from: fromLib(CORE),
      to: { path: '^lib/', pathNot: CORE },
    },

    // ---- 2. protocol ----------------------------------------------------------------------------
    {
      name: 'protocol-not-to-nestjs',
      severity: 'error',
      comment:
        'lib/protocol (handshake, signing) is framework-free: no @nestjs/* import. HTTP ' +
        'exceptions and Nest providers belong to the handshake/guard features.',
      from: fromLib(PROTOCOL),
      to: { path: NEST },
    },
    {
      name: 'protocol-only-to-core-and-protocol',
      severity: 'error',
      comment:
        'lib/protocol may import lib/core and lib/protocol only (not stores, features, options ' +
        'or the wiring).',
      from: fromLib(PROTOCOL),
      to: { path: '^lib/', pathNot: [CORE, PROTOCOL] },
    },

    // ---- 3. stores ------------------------------------------------------------------------------
    {
      name: 'stores-not-to-nestjs',
      severity: 'error',
      comment:
        'Session stores (lib/stores/**) are framework-free: no @nestjs/* import. The wiring ' +
        'registers them as providers.',
      from: fromLib(STORES),
      to: { path: NEST },
    },
    {
      name: 'memory-store-only-to-core-protocol-memory',
      severity: 'error',
      comment:
        'lib/stores/memory may import lib/core, lib/protocol and lib/stores/memory only: never ' +
        'the Redis store, a feature, options or the wiring.',
      from: fromLib(MEMORY_STORE),
      to: { path: '^lib/', pathNot: [CORE, PROTOCOL, MEMORY_STORE] },
    },
    {
      name: 'redis-store-only-to-core-protocol-redis',
      severity: 'error',
      comment:
        'lib/stores/redis may import lib/core, lib/protocol and lib/stores/redis only: never the ' +
        'memory store, a feature, options or the wiring.',
      from: fromLib(REDIS_STORE),
      to: { path: '^lib/', pathNot: [CORE, PROTOCOL, REDIS_STORE] },
    },
    {
      name: 'ioredis-only-in-redis-store',
      severity: 'error',
      comment:
        'ioredis is an optional peer dependency: only lib/stores/redis/** and the subpath entry ' +
        'lib/redis.ts (nestjs-mesh-session/redis) may import it, type-only imports included.',
      from: fromLib('^lib/', [REDIS_STORE, '^lib/redis\\.ts$']),
      to: { path: IOREDIS },
    },

    // ---- 4. features ----------------------------------------------------------------------------
    {
      name: 'features-not-to-stores',
      severity: 'error',
      comment:
        'Features work against the SessionStore contract in lib/core, never a concrete store ' +
        'from lib/stores/**; the wiring picks the store.',
      from: fromLib(FEATURE),
      to: { path: STORES },
    },
    {
      name: 'features-not-to-wiring',
      severity: 'error',
      comment:
        'Features never import the wiring (top-level lib/*.ts: module, providers, constants, ' +
        'entries) or lib/options/**. Move the token/type a feature needs into the feature, ' +
        'core or protocol, or inject it.',
      from: fromLib(FEATURE),
      to: { path: WIRING },
    },
    ...FEATURES.map((feature) => {
      const allowed = FEATURE_IMPORTS[feature];
      return {
        name: `feature-${feature}-allowed-imports`,
        severity: 'error',
        comment:
          `lib/${feature} may import lib/core, lib/protocol and ` +
          (allowed.length
            ? `the features ${allowed.map((f) => `lib/${f}`).join(', ')} only`
            : 'no other feature') +
          ' (FEATURE_IMPORTS in .dependency-cruiser.js; feature folders must never form a cycle).',
        from: fromLib(`^lib/${feature}/`),
        // stores and wiring have their own rules above, so a violation is reported once.
        to: {
          path: '^lib/',
          pathNot: [anyOf(['core', 'protocol', feature, ...allowed]), STORES, ...WIRING],
        },
      };
    }),
    {
      name: 'terminus-only-in-health',
      severity: 'error',
      comment:
        '@nestjs/terminus is imported only under lib/health/ (shipped as the ' +
        'nestjs-mesh-session/health subpath), so apps without Terminus can use the root entry.',
      from: fromLib('^lib/', '^lib/health/'),
      to: { path: TERMINUS },
    },
    {
      name: 'schedule-only-in-cleanup',
      severity: 'error',
      comment:
        '@nestjs/schedule is imported only under lib/cleanup/, so apps without it can use the ' +
        'root entry.',
      from: fromLib('^lib/', '^lib/cleanup/'),
      to: { path: SCHEDULE },
    },

    // ---- 5. wiring and entry points -------------------------------------------------------------
    {
      name: 'cli-only-to-core-and-protocol',
      severity: 'error',
      comment:
        'lib/cli (the keygen binary) may import lib/core and lib/protocol only, so it never ' +
        'loads Nest, a store or the wiring.',
      from: fromLib(CLI),
      to: { path: '^lib/', pathNot: [CORE, PROTOCOL, CLI] },
    },
    {
      name: 'testing-kit-only-from-its-entry',
      severity: 'error',
      comment:
        'lib/testing/** is the testing kit, shipped as nestjs-mesh-session/testing: only its ' +
        'entry lib/testing.ts (and the kit itself) imports it, so the root entry, the features ' +
        'and the wiring never load test helpers.',
      from: fromLib('^lib/', TESTING),
      to: { path: '^lib/testing/' },
    },
    {
      name: 'testing-kit-without-test-runners',
      severity: 'error',
      comment:
        'The testing kit takes supertest requests and TestingModuleBuilders structurally: it ' +
        'never imports @nestjs/testing, supertest or superagent (none is a peer of this ' +
        'package), type-only imports included.',
      from: fromLib(TESTING),
      to: { path: [npm('@nestjs/testing'), npm('supertest'), npm('superagent')] },
    },
    {
      name: 'root-entry-not-reaching-optional-peers',
      severity: 'error',
      comment:
        'Nothing reachable from lib/index.ts (the root entry, nestjs-mesh-session) may import ' +
        'ioredis or @nestjs/terminus, type-only imports included: the root .d.ts and .js must ' +
        'load without them. Reach them through nestjs-mesh-session/redis or /health instead.',
      from: { path: '^lib/index\\.ts$' },
      to: { path: [IOREDIS, TERMINUS], reachable: true },
    },
    {
      name: 'grpc-peers-static-only-in-grpc',
      severity: 'error',
      comment:
        '@nestjs/microservices, @grpc/grpc-js and @grpc/proto-loader are optional peers. Only ' +
        'lib/grpc/ and the nestjs-mesh-session/grpc entry import them statically (type-only ' +
        'imports included); the guard and MeshClient, reachable from the root entry, load them ' +
        'with import() when a gRPC call needs them.',
      from: fromLib('^lib/', ['^lib/grpc/', '^lib/grpc\\.ts$']),
      to: { path: GRPC_PEERS, dependencyTypesNot: ['dynamic-import'] },
    },
    {
      name: 'opentelemetry-only-in-telemetry',
      severity: 'error',
      comment:
        'OpenTelemetry is reached through lib/telemetry only: the manager, the guard, the ' +
        'handshake and MeshClient report to the SessionTelemetry contract of lib/core, and ' +
        'lib/telemetry records it with @opentelemetry/api. No lib file uses an SDK package.',
      from: fromLib('^lib/', '^lib/telemetry/'),
      to: { path: OPENTELEMETRY },
    },
    {
      name: 'opentelemetry-sdk-not-in-lib',
      severity: 'error',
      comment:
        'The library records through @opentelemetry/api only; the app chooses and registers an ' +
        'SDK (or passes its providers in the telemetry option). No lib file imports an SDK package.',
      from: fromLib('^lib/telemetry/'),
      to: { path: OPENTELEMETRY, pathNot: OPENTELEMETRY_API },
    },
    {
      name: 'opentelemetry-api-loaded-lazily',
      severity: 'error',
      comment:
        '@opentelemetry/api is an optional peer: lib/telemetry loads it with import() when the ' +
        'module starts (lib/telemetry/otel-api.ts), and may import its types, which stay out of ' +
        'the public .d.ts files (scripts/check-consumer.sh checks that). A static value import ' +
        'would make the root entry require it.',
      from: fromLib('^lib/telemetry/'),
      to: { path: OPENTELEMETRY_API, dependencyTypesNot: ['dynamic-import', 'type-only'] },
    },
    {
      name: 'schedule-loaded-lazily',
      severity: 'error',
      comment:
        '@nestjs/schedule is an optional peer that the cleanup job loads with import() when it ' +
        'starts; a static or type-only import would make the root entry require it.',
      from: { path: '^lib/' },
      to: { path: SCHEDULE, dependencyTypesNot: ['dynamic-import'] },
    },
  ],
  options: {
    // Type-only imports count: the published .d.ts keeps them, and consumers compile against it.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
    moduleSystems: ['es6', 'cjs'],
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['types', 'import', 'require', 'node', 'default'],
      mainFields: ['types', 'typings', 'module', 'main'],
      extensions: ['.ts', '.d.ts', '.js', '.mjs', '.cjs', '.json'],
    },
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};

/** Throws when the feature allow-list contains a cycle, e.g. guard -> handshake -> guard. */
function assertAcyclic(graph) {
  const state = new Map(); // undefined: unvisited, 1: on the current path, 2: done
  const visit = (node, path) => {
    if (!(node in graph)) {
      throw new Error(`.dependency-cruiser.js: FEATURE_IMPORTS names an unknown feature "${node}"`);
    }
    if (state.get(node) === 2) return;
    if (state.get(node) === 1) {
      throw new Error(
        `.dependency-cruiser.js: FEATURE_IMPORTS has a cycle: ${[...path, node].join(' -> ')}`,
      );
    }
    state.set(node, 1);
    for (const next of graph[node]) visit(next, [...path, node]);
    state.set(node, 2);
  };
  for (const node of Object.keys(graph)) visit(node, []);
}
