// Proves every rule in .dependency-cruiser.js can fail, and that the imports the rings allow pass.
//
// Works on a throwaway copy of lib/ in a temp dir (the working tree is never touched): adds small
// probe files, each making one import a rule must catch (or must let through), runs depcruise
// once with the project's config, and checks that every violating probe is reported under its
// rule, that no allowed probe is reported at all, and that every rule was shown to fire.
// Violations of the real lib/ files in the copy are ignored here; `npm run lint` reports those.
//
//   node scripts/depcruise-probes.mjs
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { appendFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const configFile = '.dependency-cruiser.js';

const FOLDERS = [
  'core',
  'protocol',
  'stores/memory',
  'stores/redis',
  'monitoring',
  'guard',
  'handshake',
  'client',
  'health',
  'cleanup',
  'options',
  'cli',
];

/** Each target exports a constant and imports nothing, so it never violates anything itself. */
const targets = Object.fromEntries([
  ...FOLDERS.map((folder) => [`lib/${folder}/__probe_t.ts`, 'export const t = 1;\n']),
  ['lib/__probe_t.ts', 'export const t = 1;\n'],
  ['test/__probe_helper.ts', 'export const t = 1;\n'],
  ['lib/core/__probe_helper.spec.ts', 'export const t = 1;\n'],
]);

/** Closes the cycle of the no-circular probe; depcruise reports a cycle once, from one end. */
const cycleEnd = [
  'lib/core/__probe_cycle_b.ts',
  "export { a } from './__probe_cycle_a.js';\nexport const b = 1;\n",
];

const reexport = (specifier, as = 'x') => `export { t as ${as} } from '${specifier}';\n`;

/** [rule, probe file, content]: the probe must be reported under that rule. */
const violating = [
  [
    'no-circular',
    'lib/core/__probe_cycle_a.ts',
    "export { b } from './__probe_cycle_b.js';\nexport const a = 1;\n",
  ],
  [
    'lib-not-to-test-sample-bench',
    'lib/core/__probe_test.ts',
    reexport('../../test/__probe_helper.js'),
  ],
  [
    'lib-not-to-test-sample-bench',
    'lib/core/__probe_spec.ts',
    reexport('./__probe_helper.spec.js'),
  ],
  ['lib-not-to-unresolvable', 'lib/core/__probe_unresolved.ts', reexport('./__probe_missing.js')],
  ['lib-folder-outside-rings', 'lib/tracing/__probe.ts', reexport('../core/__probe_t.js')],
  ['lib-folder-outside-rings', 'lib/stores/__probe.ts', reexport('../core/__probe_t.js')],
  [
    'core-not-to-nestjs',
    'lib/core/__probe_nest.ts',
    "export type { Type } from '@nestjs/common';\n",
  ],
  ['core-only-to-core', 'lib/core/__probe_protocol.ts', reexport('../protocol/__probe_t.js')],
  ['core-only-to-core', 'lib/core/__probe_wiring.ts', reexport('../__probe_t.js')],
  [
    'protocol-not-to-nestjs',
    'lib/protocol/__probe_nest.ts',
    "export { Injectable } from '@nestjs/common';\n",
  ],
  [
    'protocol-only-to-core-and-protocol',
    'lib/protocol/__probe_guard.ts',
    reexport('../guard/__probe_t.js'),
  ],
  [
    'stores-not-to-nestjs',
    'lib/stores/memory/__probe_nest.ts',
    "export { Reflector } from '@nestjs/core';\n",
  ],
  [
    'stores-not-to-nestjs',
    'lib/stores/redis/__probe_nest.ts',
    "export { Logger } from '@nestjs/common';\n",
  ],
  [
    'memory-store-only-to-core-protocol-memory',
    'lib/stores/memory/__probe_redis.ts',
    reexport('../redis/__probe_t.js'),
  ],
  [
    'redis-store-only-to-core-protocol-redis',
    'lib/stores/redis/__probe_memory.ts',
    reexport('../memory/__probe_t.js'),
  ],
  [
    'redis-store-only-to-core-protocol-redis',
    'lib/stores/redis/__probe_guard.ts',
    reexport('../../guard/__probe_t.js'),
  ],
  [
    'ioredis-only-in-redis-store',
    'lib/guard/__probe_ioredis.ts',
    "export type { Redis } from 'ioredis';\n",
  ],
  [
    'ioredis-only-in-redis-store',
    'lib/__probe_ioredis.ts',
    "export type { Redis } from 'ioredis';\n",
  ],
  [
    'features-not-to-stores',
    'lib/client/__probe_store.ts',
    reexport('../stores/memory/__probe_t.js'),
  ],
  ['features-not-to-wiring', 'lib/health/__probe_wiring.ts', reexport('../__probe_t.js')],
  ['features-not-to-wiring', 'lib/guard/__probe_options.ts', reexport('../options/__probe_t.js')],
  [
    'feature-monitoring-allowed-imports',
    'lib/monitoring/__probe_feature.ts',
    reexport('../guard/__probe_t.js'),
  ],
  [
    'feature-guard-allowed-imports',
    'lib/guard/__probe_feature.ts',
    reexport('../monitoring/__probe_t.js'),
  ],
  [
    'feature-guard-allowed-imports',
    'lib/guard/__probe_back.ts',
    reexport('../handshake/__probe_t.js'),
  ],
  [
    'feature-handshake-allowed-imports',
    'lib/handshake/__probe_feature.ts',
    reexport('../client/__probe_t.js'),
  ],
  [
    'feature-handshake-allowed-imports',
    'lib/handshake/__probe_cli.ts',
    reexport('../cli/__probe_t.js'),
  ],
  [
    'feature-client-allowed-imports',
    'lib/client/__probe_feature.ts',
    reexport('../health/__probe_t.js'),
  ],
  [
    'feature-health-allowed-imports',
    'lib/health/__probe_feature.ts',
    reexport('../cleanup/__probe_t.js'),
  ],
  [
    'feature-cleanup-allowed-imports',
    'lib/cleanup/__probe_feature.ts',
    reexport('../client/__probe_t.js'),
  ],
  [
    'terminus-only-in-health',
    'lib/__probe_terminus.ts',
    "export type { HealthIndicatorResult } from '@nestjs/terminus';\n",
  ],
  [
    'schedule-only-in-cleanup',
    'lib/__probe_schedule.ts',
    "export { Cron } from '@nestjs/schedule';\n",
  ],
  [
    'schedule-loaded-lazily',
    'lib/cleanup/__probe_static_schedule.ts',
    "export type { SchedulerRegistry } from '@nestjs/schedule';\n",
  ],
  [
    'cli-only-to-core-and-protocol',
    'lib/cli/__probe_store.ts',
    reexport('../stores/memory/__probe_t.js'),
  ],
  ['cli-only-to-core-and-protocol', 'lib/cli/__probe_wiring.ts', reexport('../__probe_t.js')],
];

/** Reachability: lib/index.ts gets one more export leading, through allowed imports only
 *  (wiring -> redis store -> ioredis), to ioredis. Reported with the probe on its `via` path. */
const reachProbe = {
  rule: 'root-entry-not-reaching-optional-peers',
  files: {
    'lib/__probe_reach.ts': "export { probeRedis } from './stores/redis/__probe_reach.js';\n",
    'lib/stores/redis/__probe_reach.ts':
      "import type { Redis } from 'ioredis';\nexport const probeRedis = (redis: Redis): Redis => redis;\n",
  },
  indexLine: "export { probeRedis } from './__probe_reach.js';\n",
  via: 'lib/stores/redis/__probe_reach.ts',
};

/** Probes the rings allow: none may be reported under any rule. */
const allowed = [
  [
    'lib/core/__probe_ok.ts',
    reexport('./__probe_t.js') + "export { randomBytes } from 'node:crypto';\n",
  ],
  [
    'lib/protocol/__probe_ok.ts',
    reexport('../core/__probe_t.js', 'a') + reexport('./__probe_t.js', 'b'),
  ],
  [
    'lib/stores/memory/__probe_ok.ts',
    reexport('../../core/__probe_t.js', 'a') + reexport('../../protocol/__probe_t.js', 'b'),
  ],
  [
    'lib/stores/redis/__probe_ok.ts',
    reexport('../../core/__probe_t.js', 'a') + "export type { Redis } from 'ioredis';\n",
  ],
  [
    'lib/handshake/__probe_ok.ts',
    reexport('../guard/__probe_t.js', 'a') +
      reexport('../monitoring/__probe_t.js', 'b') +
      reexport('../protocol/__probe_t.js', 'c') +
      "export { Controller } from '@nestjs/common';\n",
  ],
  ['lib/health/__probe_ok.ts', "export type { HealthIndicatorResult } from '@nestjs/terminus';\n"],
  [
    'lib/cleanup/__probe_ok.ts',
    "export const probeSchedule = (): Promise<unknown> => import('@nestjs/schedule');\n",
  ],
  [
    'lib/cli/__probe_ok.ts',
    reexport('../core/__probe_t.js', 'a') + reexport('../protocol/__probe_t.js', 'b'),
  ],
  [
    'lib/__probe_ok.ts',
    FOLDERS.map((folder, i) => reexport(`./${folder}/__probe_t.js`, `x${i}`)).join('') +
      "export { Module } from '@nestjs/common';\n",
  ],
  [
    'lib/options/__probe_ok.ts',
    reexport('../guard/__probe_t.js', 'a') + reexport('../__probe_t.js', 'b'),
  ],
  // Test files in lib/ are not shipped: the ring rules leave them alone.
  [
    'lib/core/__probe_ok.spec.ts',
    "export { Test } from '@nestjs/testing';\n" + reexport('../../test/__probe_helper.js'),
  ],
];

const sandbox = mkdtempSync(join(tmpdir(), 'depcruise-probes-'));
try {
  cpSync(join(root, 'lib'), join(sandbox, 'lib'), { recursive: true });
  for (const file of ['tsconfig.json', 'package.json', configFile]) {
    cpSync(join(root, file), join(sandbox, file));
  }
  symlinkSync(join(root, 'node_modules'), join(sandbox, 'node_modules'), 'dir');

  const write = (file, content) => {
    mkdirSync(dirname(join(sandbox, file)), { recursive: true });
    writeFileSync(join(sandbox, file), content);
  };
  for (const [file, content] of Object.entries(targets)) write(file, content);
  for (const [, file, content] of violating) write(file, content);
  write(...cycleEnd);
  for (const [file, content] of allowed) write(file, content);
  for (const [file, content] of Object.entries(reachProbe.files)) write(file, content);
  if (!existsSync(join(sandbox, 'lib/index.ts'))) throw new Error('lib/index.ts is missing');
  appendFileSync(join(sandbox, 'lib/index.ts'), reachProbe.indexLine);

  const run = spawnSync(
    join(root, 'node_modules/.bin/depcruise'),
    ['lib', '--config', configFile, '--output-type', 'json'],
    { cwd: sandbox, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 },
  );
  if (!run.stdout) {
    throw new Error(`depcruise produced no output (exit ${run.status}):\n${run.stderr}`);
  }
  const { violations, ruleSetUsed } = JSON.parse(run.stdout).summary;

  const failures = [];
  const firedRules = new Set();
  const report = (ok, line) => {
    console.log(`${ok ? 'ok  ' : 'FAIL'} ${line}`);
    if (!ok) failures.push(line);
  };

  for (const [rule, file] of violating) {
    const ends = rule === 'no-circular' ? [file, cycleEnd[0]] : [file];
    const found = violations.filter((v) => v.rule.name === rule && ends.includes(v.from));
    const hit = found[0];
    if (hit) firedRules.add(rule);
    report(Boolean(hit), `${rule}: ${file}${hit ? ` -> ${hit.to}` : ' not reported'}`);
  }
  const reach = violations.find(
    (v) =>
      v.rule.name === reachProbe.rule && (v.via ?? []).some((step) => step.name === reachProbe.via),
  );
  if (reach) firedRules.add(reachProbe.rule);
  report(
    Boolean(reach),
    `${reachProbe.rule}: lib/index.ts${reach ? ` -> ${reach.to} via ${reach.via.map((s) => s.name).join(' -> ')}` : ' not reported'}`,
  );

  const probeFiles = new Set([
    ...Object.keys(targets),
    ...allowed.map(([file]) => file),
    ...Object.keys(reachProbe.files),
  ]);
  for (const file of probeFiles) {
    const wrong = violations.filter((v) => v.from === file);
    report(
      wrong.length === 0,
      `allowed: ${file}${wrong.map((v) => `\n       reported by ${v.rule.name} -> ${v.to}`).join('')}`,
    );
  }

  for (const { name } of ruleSetUsed.forbidden) {
    report(firedRules.has(name), `rule ${name} shown to fire`);
  }

  if (failures.length > 0) {
    console.error(`\n${failures.length} probe check(s) failed`);
    process.exitCode = 1;
  } else {
    console.log(
      `\nall ${ruleSetUsed.forbidden.length} rules fire on their probes; allowed imports pass`,
    );
  }
} finally {
  rmSync(sandbox, { recursive: true, force: true });
}
