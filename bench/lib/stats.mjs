// Small helpers shared by the bench workers and the runner.

import { createServer } from 'node:net';

/** @param {number[]} values */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * The median of the rounds and their spread: the largest distance from the median, in percent.
 * @param {number[]} values
 */
export function summarize(values) {
  const med = median(values);
  const spread = values.length === 0 ? 0 : Math.max(...values.map((v) => Math.abs(v - med)));
  return {
    median: med,
    min: Math.min(...values),
    max: Math.max(...values),
    spreadPct: med === 0 ? 0 : (spread / med) * 100,
    rounds: values,
  };
}

/**
 * Runs the garbage collector (the process must run with --expose-gc): twice before a heap
 * measurement, once before a timed round.
 */
export function collect(times = 1) {
  if (typeof globalThis.gc !== 'function') {
    throw new Error('run the bench workers with node --expose-gc');
  }
  for (let i = 0; i < times; i++) globalThis.gc();
}

/** The bytes a process holds in the V8 heap plus ArrayBuffer backing stores. */
export function heapBytes() {
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

/** Prints the worker's result on the line the runner parses. */
export function report(result) {
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
}

/** Parses `--name value` and `--flag` arguments. */
export function parseArgs(argv = process.argv.slice(2)) {
  const args = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) continue;
    const [name, inline] = arg.slice(2).split('=');
    if (inline !== undefined) args[name] = inline;
    else if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) args[name] = argv[++i];
    else args[name] = true;
  }
  return args;
}

/** A loopback TCP port that is free now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}
