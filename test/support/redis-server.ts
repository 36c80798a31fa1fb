import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

/*
 * Real redis-server processes for the tests (data servers, replicas, Cluster nodes, sentinels),
 * on free ports of 127.0.0.1, started and stopped by the tests. A missing binary is a loud
 * failure, never a skip.
 */

const run = promisify(execFile);
const READY = 'Ready to accept connections';
/** What a sentinel prints once it listens (it never prints {@link READY}). */
const SENTINEL_READY = 'Sentinel ID is';
const START_TIMEOUT_MS = 10_000;
const live = new Set<ChildProcess>();

// A test file that dies before its teardown must not leave servers behind.
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** The error a test sees when redis-server (or redis-cli) is not installed. */
export function redisMissingError(binary: string): Error {
  return new Error(
    `${binary} was not found on PATH. The Redis tests start their own servers: install Redis with \`apt-get install redis-server\` (Debian/Ubuntu) and run the tests again.`,
  );
}

/** A port that is free now, on 127.0.0.1 (and, for a Cluster node, its bus port + 10000). */
export async function freePort(withBusPort = false): Promise<number> {
  for (;;) {
    const port = await listenOnce(0);
    if (!withBusPort) return port;
    if (port > 55_535) continue;
    const bus = await listenOnce(port + 10_000).catch(() => undefined);
    if (bus !== undefined) return port;
  }
}

function listenOnce(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : port));
    });
  });
}

/** Options of {@link RedisServer.start}. */
export interface RedisServerOptions {
  /** Keep data on disk (AOF, fsync always), so that a restart after a kill keeps it. */
  persistent?: boolean;
  /** Start as a Cluster node. */
  cluster?: boolean;
  /** A fixed port; by default a free one. */
  port?: number;
  /** Start as a replica of the server on this port of 127.0.0.1. */
  replicaOf?: number;
  /**
   * Start as a sentinel (`redis-server <file> --sentinel`) whose config file holds these lines
   * (`sentinel monitor ...` and the like). The sentinel rewrites the file as it learns; a
   * restart keeps what it learned.
   */
  sentinel?: readonly string[];
}

/**
 * One redis-server process. `stop()` ends it; `kill()` ends it abruptly; `restart()` starts it
 * again on the same port (and data directory).
 */
export class RedisServer {
  private child: ChildProcess | undefined;

  private constructor(
    readonly port: number,
    readonly dir: string,
    private readonly options: RedisServerOptions,
  ) {}

  /** `redis://127.0.0.1:<port>` */
  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** The process id, while running. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Whether the process runs. */
  get running(): boolean {
    return this.child !== undefined;
  }

  /**
   * Starts a server and resolves once it accepts connections.
   *
   * @throws {Error} saying how to install Redis when redis-server is missing
   */
  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
    for (let attempt = 0; ; attempt++) {
      const port = options.port ?? (await freePort(options.cluster));
      const server = new RedisServer(port, mkdtempSync(join(tmpdir(), 'mesh-redis-')), options);
      try {
        await server.spawn();
        return server;
      } catch (error) {
        server.removeDir();
        // Another process took the port between the check and the start: try another.
        const portTaken = String((error as Error).message).includes('Address already in use');
        if (!portTaken || options.port !== undefined || attempt >= 5) throw error;
      }
    }
  }

  /** Stops the server gracefully and waits for it to exit. */
  async stop(): Promise<void> {
    await this.signal('SIGTERM');
  }

  /** Kills the server (SIGKILL), as a crash would, and waits for it to exit. */
  async kill(): Promise<void> {
    await this.signal('SIGKILL');
  }

  /** Freezes the server (SIGSTOP): connections stay open, nothing answers. */
  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  /** Unfreezes a paused server (SIGCONT). */
  resume(): void {
    this.child?.kill('SIGCONT');
  }

  /** Starts the server again on the same port and data directory. */
  async restart(): Promise<void> {
    if (this.child !== undefined) await this.stop();
    await this.spawn();
  }

  /** Stops the server and deletes its data directory. */
  async destroy(): Promise<void> {
    await this.kill();
    this.removeDir();
  }

  /** Runs redis-cli against this server and returns its output. */
  async cli(...args: string[]): Promise<string> {
    return redisCli('-p', String(this.port), ...args);
  }

  private async signal(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (child === undefined) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGCONT');
    child.kill(signal);
    await exited;
  }

  private removeDir(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  private spawn(): Promise<void> {
    const sentinel = this.options.sentinel;
    const args = sentinel === undefined ? this.serverArgs() : this.sentinelArgs(sentinel);
    const ready = sentinel === undefined ? READY : SENTINEL_READY;
    return new Promise<void>((resolve, reject) => {
      const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      let settled = false;
      const timer = setTimeout(() => {
        fail(new Error(`redis-server did not start within ${START_TIMEOUT_MS} ms:\n${output}`));
        child.kill('SIGKILL');
      }, START_TIMEOUT_MS);
      const fail = (error: Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(error);
      };
      const onData = (chunk: Buffer): void => {
        if (settled) return;
        output += chunk.toString();
        if (output.includes(ready)) {
          settled = true;
          clearTimeout(timer);
          // Keep draining its output, or a chatty server would block on a full pipe.
          output = '';
          resolve();
        }
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      child.once('error', (error: NodeJS.ErrnoException) => {
        live.delete(child);
        this.child = undefined;
        fail(error.code === 'ENOENT' ? redisMissingError('redis-server') : error);
      });
      child.once('exit', (code, signal) => {
        live.delete(child);
        if (this.child === child) this.child = undefined;
        fail(new Error(`redis-server exited (${signal ?? code}) before it was ready:\n${output}`));
      });
      live.add(child);
      this.child = child;
    });
  }

  /** The arguments of a data server. */
  private serverArgs(): string[] {
    const args = [
      '--port',
      String(this.port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--dir',
      this.dir,
      '--logfile',
      '',
      '--daemonize',
      'no',
      '--appendonly',
      this.options.persistent ? 'yes' : 'no',
    ];
    if (this.options.persistent) args.push('--appendfsync', 'always');
    if (this.options.cluster) {
      args.push(
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        join(this.dir, 'nodes.conf'),
        '--cluster-node-timeout',
        '5000',
      );
    }
    if (this.options.replicaOf !== undefined) {
      args.push('--replicaof', '127.0.0.1', String(this.options.replicaOf));
    }
    return args;
  }

  /** The arguments of a sentinel, its config file written on the first start. */
  private sentinelArgs(lines: readonly string[]): string[] {
    const file = join(this.dir, 'sentinel.conf');
    if (!existsSync(file)) writeFileSync(file, `${lines.join('\n')}\n`);
    return [
      file,
      '--sentinel',
      '--port',
      String(this.port),
      '--bind',
      '127.0.0.1',
      '--dir',
      this.dir,
      '--logfile',
      '',
      '--daemonize',
      'no',
    ];
  }
}

/**
 * Runs redis-cli with these arguments and returns its output. A failure names what redis-cli
 * printed, or that it ran out of time.
 */
export async function redisCli(...args: string[]): Promise<string> {
  return redisCliWithin(15_000, args);
}

async function redisCliWithin(timeout: number, args: string[]): Promise<string> {
  try {
    const { stdout } = await run('redis-cli', args, { timeout });
    return stdout;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw redisMissingError('redis-cli');
    const failed = error as Error & { killed?: boolean; stdout?: string; stderr?: string };
    const said = `${failed.stdout ?? ''}${failed.stderr ?? ''}`.trim();
    throw new Error(
      `redis-cli ${args.join(' ')}: ${failed.killed === true ? `no answer within ${timeout} ms` : 'failed'}` +
        (said === '' ? '' : `: ${said.slice(-2_000)}`),
      { cause: error },
    );
  }
}

/** A Redis Cluster of masters only, created with `redis-cli --cluster create`. */
export class RedisCluster {
  private constructor(readonly nodes: readonly RedisServer[]) {}

  /** The nodes' addresses, as ioredis's Cluster takes them. */
  get startupNodes(): { host: string; port: number }[] {
    return this.nodes.map((node) => ({ host: '127.0.0.1', port: node.port }));
  }

  /**
   * Starts `masters` cluster nodes, joins them and waits until every node reports
   * `cluster_state:ok`.
   */
  static async start(masters = 3): Promise<RedisCluster> {
    const nodes: RedisServer[] = [];
    try {
      for (let i = 0; i < masters; i++) nodes.push(await RedisServer.start({ cluster: true }));
      // Joining waits for the nodes to agree, which takes longer on a loaded machine.
      await redisCliWithin(60_000, [
        '--cluster',
        'create',
        ...nodes.map((node) => `127.0.0.1:${node.port}`),
        '--cluster-replicas',
        '0',
        '--cluster-yes',
      ]);
      const deadline = realNow() + 20_000;
      for (const node of nodes) {
        while (!(await node.cli('cluster', 'info')).includes('cluster_state:ok')) {
          if (realNow() > deadline) throw new Error('the Redis Cluster did not reach state ok');
          await realSleep(50);
        }
      }
      return new RedisCluster(nodes);
    } catch (error) {
      await Promise.all(nodes.map((node) => node.destroy()));
      throw error;
    }
  }

  /** Stops every node and deletes their data. */
  async destroy(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.destroy()));
  }
}

/*
 * Some suites fake every timer (process.nextTick and setImmediate included) before they ask a
 * factory for a store. ioredis connects through process.nextTick, so a connection opened under
 * such fakes never completes. The factories open connections with the real functions, captured
 * here when this module loads, before any test fakes them.
 */
const realTimers = {
  setTimeout: globalThis.setTimeout,
  clearTimeout: globalThis.clearTimeout,
  setInterval: globalThis.setInterval,
  clearInterval: globalThis.clearInterval,
  setImmediate: globalThis.setImmediate,
  clearImmediate: globalThis.clearImmediate,
  queueMicrotask: globalThis.queueMicrotask,
  nextTick: process.nextTick,
  dateNow: Date.now,
};

/** The real `Date.now`, even while a test fakes `Date`. */
export const realNow = (): number => realTimers.dateNow.call(Date);

/** Waits `ms` on the real clock, even while a test fakes timers. */
export function realSleep(ms: number): Promise<void> {
  return new Promise((resolve) => realTimers.setTimeout(resolve, ms));
}

/**
 * Runs `fn` with the real timer functions in place, then puts back whatever was there (a
 * test's fakes). Only for set-up steps that the test awaits, such as opening a connection.
 */
export async function withRealTimers<T>(fn: () => Promise<T>): Promise<T> {
  const g = globalThis as Record<string, unknown>;
  const names = [
    'setTimeout',
    'clearTimeout',
    'setInterval',
    'clearInterval',
    'setImmediate',
    'clearImmediate',
    'queueMicrotask',
  ] as const;
  const saved = names.map((name) => g[name]);
  const savedNextTick = process.nextTick;
  names.forEach((name) => (g[name] = realTimers[name]));
  process.nextTick = realTimers.nextTick;
  try {
    return await fn();
  } finally {
    names.forEach((name, i) => (g[name] = saved[i]));
    process.nextTick = savedNextTick;
  }
}
