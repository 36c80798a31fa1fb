import { RedisServer, realNow, realSleep } from './redis-server.js';

/*
 * A Redis Sentinel deployment for the tests: a master, one replica and three sentinels
 * (quorum 2), every process a redis-server on a free port of 127.0.0.1. A missing binary fails
 * as the other Redis helpers do, saying how to install Redis.
 */

/** Options of {@link RedisSentinelSet.start}. */
export interface RedisSentinelSetOptions {
  /** The name the sentinels monitor the master under. @default 'mymaster' */
  name?: string;
  /** How long the master may be unreachable before a sentinel thinks it down. @default 1000 */
  downAfterMs?: number;
  /**
   * The sentinels' `failover-timeout`: how long a failover may take, and twice it before a
   * failed one is tried again. @default 5000
   */
  failoverTimeoutMs?: number;
}

const SENTINELS = 3;
const QUORUM = 2;
/** Bound on waiting for the processes of a new set to find one another. */
const SETTLE_TIMEOUT_MS = 15_000;
/** Bound on waiting for a failover to complete, as every sentinel and the new master see it. */
const FAILOVER_TIMEOUT_MS = 20_000;

/**
 * Calls `check` until it returns something other than `undefined`, every `intervalMs`, and
 * returns that; fails, naming `what`, once `timeoutMs` has passed.
 *
 * @param what what is waited for, for the error
 * @param timeoutMs the bound
 * @param check the condition; its errors count as "not yet"
 * @param intervalMs the pause between two checks
 */
export async function pollUntil<T>(
  what: string,
  timeoutMs: number,
  check: () => Promise<T | undefined>,
  intervalMs = 25,
): Promise<T> {
  const deadline = realNow() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (realNow() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`, { cause: lastError });
    }
    await realSleep(intervalMs);
  }
}

/** `key:value` lines of an `INFO` section, as a map. */
function infoFields(info: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of info.split(/\r?\n/)) {
    const at = line.indexOf(':');
    if (at > 0) fields.set(line.slice(0, at), line.slice(at + 1).trim());
  }
  return fields;
}

/** The alternating name/value lines redis-cli prints for a flat reply, as a map. */
function pairs(lines: string[]): Map<string, string> {
  const fields = new Map<string, string>();
  for (let i = 0; i + 1 < lines.length; i += 2) fields.set(lines[i], lines[i + 1]);
  return fields;
}

/**
 * A master, a replica and three sentinels. The data servers keep their ports through
 * failovers; {@link masterPort} says which one is the master now.
 *
 * @example
 * ```ts
 * const set = await RedisSentinelSet.start();
 * new Redis({ sentinels: set.sentinelAddresses, name: set.name });
 * const { from, to } = await set.failover();
 * await set.destroy();
 * ```
 */
export class RedisSentinelSet {
  private constructor(
    /** The name the master is monitored under. */
    readonly name: string,
    /** The data servers: the first master, then its replica. */
    readonly servers: readonly RedisServer[],
    /** The sentinels. */
    readonly sentinels: readonly RedisServer[],
  ) {}

  /** The sentinels' addresses, as ioredis's `sentinels` option takes them. */
  get sentinelAddresses(): { host: string; port: number }[] {
    return this.sentinels.map((sentinel) => ({ host: '127.0.0.1', port: sentinel.port }));
  }

  /**
   * Starts the set and resolves once the replica is in sync and every sentinel knows the
   * replica and the other sentinels (so that a failover can start at once).
   *
   * @throws {Error} saying how to install Redis when redis-server or redis-cli is missing
   */
  static async start(options: RedisSentinelSetOptions = {}): Promise<RedisSentinelSet> {
    const name = options.name ?? 'mymaster';
    const started: RedisServer[] = [];
    try {
      const master = await RedisServer.start();
      started.push(master);
      const replica = await RedisServer.start({ replicaOf: master.port });
      started.push(replica);
      const config = [
        'bind 127.0.0.1',
        `sentinel monitor ${name} 127.0.0.1 ${master.port} ${QUORUM}`,
        `sentinel down-after-milliseconds ${name} ${options.downAfterMs ?? 1_000}`,
        `sentinel failover-timeout ${name} ${options.failoverTimeoutMs ?? 5_000}`,
        `sentinel parallel-syncs ${name} 1`,
      ];
      const sentinels = await Promise.allSettled(
        Array.from({ length: SENTINELS }, () => RedisServer.start({ sentinel: config })),
      );
      for (const result of sentinels) if (result.status === 'fulfilled') started.push(result.value);
      const failed = sentinels.find((result) => result.status === 'rejected');
      if (failed !== undefined) throw failed.reason;

      const set = new RedisSentinelSet(name, [master, replica], started.slice(2));
      await set.waitForReplica(replica, master.port, SETTLE_TIMEOUT_MS);
      await pollUntil(
        'every sentinel to know the replica and the other sentinels',
        SETTLE_TIMEOUT_MS,
        () => set.sentinelsSettled(),
      );
      return set;
    } catch (error) {
      await Promise.all(started.map((server) => server.destroy()));
      throw error;
    }
  }

  /** The port of the master, as the first sentinel names it. */
  async masterPort(): Promise<number> {
    return this.masterPortSeenBy(this.sentinels[0]);
  }

  /**
   * The data server on `port`.
   *
   * @throws {Error} when no data server of the set has it
   */
  server(port: number): RedisServer {
    const found = this.servers.find((server) => server.port === port);
    if (found === undefined) throw new Error(`no data server of the set is on port ${port}`);
    return found;
  }

  /** The data server that is not on `port`. */
  other(port: number): RedisServer {
    const found = this.servers.find((server) => server.port !== port);
    if (found === undefined) throw new Error(`the set has no data server besides ${port}`);
    return found;
  }

  /**
   * A graceful failover (`SENTINEL FAILOVER`), resolved once every sentinel names the replica
   * as the master and it reports the master role.
   *
   * @returns the ports of the old and the new master
   */
  async failover(): Promise<{ from: number; to: number }> {
    const from = await this.masterPort();
    const to = this.other(from).port;
    const reply = (await this.sentinels[0].cli('sentinel', 'failover', this.name)).trim();
    if (reply !== 'OK') throw new Error(`SENTINEL FAILOVER answered ${reply}`);
    await this.waitForMaster(to);
    return { from, to };
  }

  /**
   * Kills the master (SIGKILL, as a crash would) and resolves once the sentinels have promoted
   * the replica: every sentinel names it and it reports the master role.
   *
   * @returns the ports of the old (dead) and the new master
   */
  async crashMaster(): Promise<{ from: number; to: number }> {
    const from = await this.masterPort();
    const to = this.other(from).port;
    await this.server(from).kill();
    await this.waitForMaster(to);
    return { from, to };
  }

  /** Stops every process of the set and deletes their data. */
  async destroy(): Promise<void> {
    await Promise.all([...this.sentinels, ...this.servers].map((server) => server.destroy()));
  }

  private async masterPortSeenBy(sentinel: RedisServer): Promise<number> {
    const [, port] = (await sentinel.cli('sentinel', 'get-master-addr-by-name', this.name))
      .trim()
      .split(/\r?\n/);
    return Number(port);
  }

  /** Every sentinel names the server on `port` as the master, and it says it is one. */
  private async waitForMaster(port: number): Promise<void> {
    await pollUntil(
      `the server on port ${port} to be the master`,
      FAILOVER_TIMEOUT_MS,
      async () => {
        const seen = await Promise.all(this.sentinels.map((s) => this.masterPortSeenBy(s)));
        if (seen.some((p) => p !== port)) return undefined;
        const role = infoFields(await this.server(port).cli('info', 'replication')).get('role');
        return role === 'master' ? true : undefined;
      },
    );
  }

  /** `replica` replicates the master on `masterPort` and has caught up with it. */
  private async waitForReplica(
    replica: RedisServer,
    masterPort: number,
    timeoutMs: number,
  ): Promise<void> {
    await pollUntil(`the replica on port ${replica.port} to be in sync`, timeoutMs, async () => {
      const mine = infoFields(await replica.cli('info', 'replication'));
      if (mine.get('master_port') !== String(masterPort)) return undefined;
      if (mine.get('master_link_status') !== 'up') return undefined;
      const master = infoFields(await this.server(masterPort).cli('info', 'replication'));
      return mine.get('slave_repl_offset') === master.get('master_repl_offset') ? true : undefined;
    });
  }

  /** Whether every sentinel knows the replica (in a good state) and the other sentinels. */
  private async sentinelsSettled(): Promise<true | undefined> {
    for (const sentinel of this.sentinels) {
      const master = pairs(
        (await sentinel.cli('sentinel', 'master', this.name)).trim().split(/\r?\n/),
      );
      if (master.get('num-other-sentinels') !== String(SENTINELS - 1)) return undefined;
      const replicas = (await sentinel.cli('sentinel', 'replicas', this.name)).trim();
      const replica = pairs(replicas.split(/\r?\n/));
      if (replica.get('flags') !== 'slave' || replica.get('master-link-status') !== 'ok') {
        return undefined;
      }
    }
    return true;
  }
}
