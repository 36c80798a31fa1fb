// Where the benchmarks' servers and load generators run. On Linux with two cores or more, a
// server runs on core 1 and its load generator on core 0 (taskset), so that neither takes CPU
// time from the other: left to the scheduler, the two move between the cores, and a server's
// CPU time per request then grows with whatever the load generator does meanwhile.
import { execFileSync, spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';

/** The core of the servers. */
const SERVER_CORE = '1';
/** The core of the load generators (and of anything else a benchmark runs beside a server). */
const LOAD_CORE = '0';

/** The cores every process may use when nothing is pinned, such as `0-1`. */
const ALL_CORES = `0-${availableParallelism() - 1}`;

/**
 * Whether this process may set affinities: it sets its own to every core, which changes nothing
 * (reading it alone would pass where setting it is refused, as in some containers).
 */
function tasksetWorks() {
  try {
    execFileSync('taskset', ['-a', '-cp', ALL_CORES, String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Whether the benchmarks pin their processes here. */
export const PIN = process.platform === 'linux' && availableParallelism() >= 2 && tasksetWorks();

/**
 * Node.js options for the servers only, for profiling them: for example
 * BENCH_SERVER_NODE_ARGS='--cpu-prof --cpu-prof-dir bench/.tmp/prof' (a server writes its profile
 * when it stops).
 */
const SERVER_NODE_ARGS = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);

/**
 * Runs a process, with every thread it has, on the load generator's core (`'load'`), or on any
 * core again (`'any'`). Nothing happens where nothing is pinned.
 * @param {number} pid the process
 * @param {'load' | 'any'} where
 */
export function pinProcess(pid, where) {
  if (!PIN) return;
  const cores = where === 'load' ? LOAD_CORE : ALL_CORES;
  execFileSync('taskset', ['-a', '-cp', cores, String(pid)], { stdio: 'ignore' });
}

/**
 * Starts a Node.js server script on the server core, as `fork` would, with the same options
 * (`stdio` must hold `'ipc'` for `send`). `execArgv` defaults to this process's own options
 * plus `BENCH_SERVER_NODE_ARGS`.
 * @param {string} script the script's path
 * @param {string[]} args its arguments
 * @param {{ execArgv?: string[] } & import('node:child_process').SpawnOptions} options
 */
export function spawnServer(
  script,
  args,
  { execArgv = [...process.execArgv, ...SERVER_NODE_ARGS], ...options },
) {
  const command = [process.execPath, ...execArgv, script, ...args];
  return PIN
    ? spawn('taskset', ['-c', SERVER_CORE, ...command], options)
    : spawn(command[0], command.slice(1), options);
}
