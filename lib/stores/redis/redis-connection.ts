import type { Cluster, Redis, RedisOptions } from 'ioredis';
import type { SessionStoreLogger } from '../../core/session-store-logger.js';
import { withTimeout } from '../../core/with-timeout.js';
import { createRedisClient } from './redis-client.js';
import type { RedisScript } from './redis-session-scripts.js';
import type { ResolvedRedisSessionStoreOptions } from './redis-session-store.options.js';
import { RedisStoreMessages } from './redis-store.messages.js';
import { RedisWriteCoalescer } from './redis-write-coalescer.js';

type RedisArg = string | number | Buffer;

/**
 * The store's link to Redis: runs scripts by `EVALSHA` (falling back to `EVAL` once per node
 * when Redis has forgotten them), bounds every call by `commandTimeout`, waits for the first
 * connection, coalesces the writes of a client it created ({@link RedisWriteCoalescer}), and
 * closes only a client it created. Errors come out as one clear message that names the
 * operation.
 *
 * @example
 * ```ts
 * const connection = new RedisConnection(resolved, () => logger);
 * const fields = await connection.run<string[] | null>(RedisSessionScripts.get, [record], [now]);
 * ```
 */
export class RedisConnection {
  /** The ioredis client in use. */
  readonly client: Redis | Cluster;
  /** Whether the store created the client (and so closes it). */
  readonly owned: boolean;

  private readonly commandTimeout: number;
  /** Set when the client does not time out calls itself: the store does it. */
  private readonly enforceTimeout: boolean;
  /** Set for a client the store created; a given client is used as configured. */
  private readonly coalescer: RedisWriteCoalescer | undefined;
  private everReady: boolean;
  private readyWait: Promise<void> | undefined;
  private outage = false;
  private closed = false;
  /** Set while the warning about a given client's offline queue is still to be logged. */
  private offlineQueueNotice = false;

  /**
   * @param options the resolved store options
   * @param logger where to log, read at each line: a logger the store gets later still counts
   * @throws {Error} when a client must be created and ioredis is not installed
   */
  constructor(
    options: ResolvedRedisSessionStoreOptions,
    private readonly logger: () => SessionStoreLogger,
  ) {
    this.commandTimeout = options.commandTimeout;
    const given = options.client;
    this.client = given ?? createRedisClient(options);
    this.owned = given === undefined;
    if (given !== undefined) {
      const clientOptions = given.options as RedisOptions & { redisOptions?: RedisOptions };
      const own = clientOptions.commandTimeout ?? clientOptions.redisOptions?.commandTimeout;
      this.enforceTimeout = own === undefined;
      this.coalescer = undefined;
      this.offlineQueueNotice = clientOptions.enableOfflineQueue !== false;
    } else {
      this.enforceTimeout = false;
      // With ioredis's own auto-pipelining, commands reach the socket on a later turn: a socket
      // corked in between would hold a write the coalescer counts as sent until it timed out.
      this.coalescer =
        options.redisOptions?.enableAutoPipelining === true ? undefined : new RedisWriteCoalescer();
      this.reportOutages();
    }
    this.everReady = this.client.status === 'ready';
    if (!this.everReady) this.client.once('ready', () => (this.everReady = true));
  }

  /**
   * Runs a script: one `EVALSHA`, or `EVAL` when Redis does not know the script yet.
   *
   * @param script the script
   * @param keys its keys, all in one slot
   * @param args its arguments
   * @throws {Error} naming the operation, when Redis fails, is away or is too slow
   */
  run<T>(script: RedisScript, keys: readonly string[], args: readonly RedisArg[]): Promise<T> {
    if (this.closed) return Promise.reject(new Error(RedisStoreMessages.redisStoreClosed()));
    if (this.offlineQueueNotice) this.noticeOfflineQueue();
    if (this.client.status !== 'ready' && !this.everReady) {
      return this.afterFirstConnect(() => this.run<T>(script, keys, args), script.name);
    }
    return this.settle(this.evalsha(script, keys, args) as Promise<T>, script.name);
  }

  /** The script's `EVALSHA`, its socket write coalesced; `EVAL` when Redis lacks the script. */
  private evalsha(
    script: RedisScript,
    keys: readonly string[],
    args: readonly RedisArg[],
  ): Promise<unknown> {
    const client = this.client;
    const coalescer = this.coalescer;
    // Only while ready: otherwise the command fails at once, and nothing is written.
    const stream =
      coalescer !== undefined && client.status === 'ready' ? (client as Redis).stream : undefined;
    const flush = stream !== undefined ? (coalescer as RedisWriteCoalescer).beforeWrite(stream) : 0;
    return client.evalsha(script.sha, keys.length, ...keys, ...args).then(
      (reply) => {
        if (stream !== undefined) (coalescer as RedisWriteCoalescer).settled(stream, flush);
        return reply;
      },
      (error: unknown) => {
        // Settled first: the EVAL below must not wait behind a cork this script holds.
        if (stream !== undefined) (coalescer as RedisWriteCoalescer).settled(stream, flush);
        return isNoScript(error)
          ? client.eval(script.source, keys.length, ...keys, ...args)
          : Promise.reject(error);
      },
    );
  }

  /**
   * Runs plain commands through the client, with the same time limit and error wrapping.
   *
   * @param operation name for error messages
   * @param command what to run
   * @throws {Error} naming the operation, when Redis fails, is away or is too slow
   */
  call<T>(operation: string, command: (client: Redis | Cluster) => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new Error(RedisStoreMessages.redisStoreClosed()));
    if (this.offlineQueueNotice) this.noticeOfflineQueue();
    if (this.client.status !== 'ready' && !this.everReady) {
      return this.afterFirstConnect(() => this.call(operation, command), operation);
    }
    return this.settle(command(this.client), operation);
  }

  /**
   * Closes the client if the store created it; a given client is left alone. Safe to call
   * more than once.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (!this.owned || this.client.status === 'end') return;
    const ended = new Promise<void>((resolve) => this.client.once('end', () => resolve()));
    try {
      await withTimeout(this.client.quit(), this.commandTimeout);
      // quit() answers before the socket is closed: wait for that, so nothing is left open.
      await withTimeout(ended, this.commandTimeout);
    } catch {
      // Redis is away or slow: drop the connection, which also stops reconnecting.
      this.client.disconnect();
    }
  }

  /**
   * Before the client's first connection: a promise of it, rejected after `commandTimeout`.
   * Once the client has been ready, `undefined`: later outages fail calls at once instead.
   */
  firstConnection(): Promise<void> | undefined {
    if (this.everReady || this.client.status === 'ready') return undefined;
    this.readyWait ??= new Promise<void>((resolve, reject) => {
      const onReady = (): void => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.client.off('ready', onReady);
        this.readyWait = undefined;
        reject(new Error(RedisStoreMessages.redisNotReady(this.commandTimeout)));
      }, this.commandTimeout);
      this.client.once('ready', onReady);
      if (this.client.status === 'wait') this.client.connect().catch(() => undefined);
    });
    return this.readyWait;
  }

  /** Logs each outage of a client the store created once, and its end. */
  private reportOutages(): void {
    // Without a listener ioredis prints every failed reconnect; report each outage once.
    this.client.on('error', (error: Error) => {
      if (this.outage || this.closed) return;
      this.outage = true;
      this.logger().warn(RedisStoreMessages.redisConnectionLost(error.message));
    });
    this.client.on('ready', () => {
      if (!this.outage) return;
      this.outage = false;
      this.logger().log(RedisStoreMessages.redisConnectionRestored());
    });
  }

  /**
   * Warns, once, that a given client queues commands while Redis is offline. On first use rather
   * than at construction, so that the line reaches the logger the app gives the store.
   */
  private noticeOfflineQueue(): void {
    this.offlineQueueNotice = false;
    this.logger().warn(RedisStoreMessages.redisOfflineQueue());
  }

  private settle<T>(call: Promise<T>, operation: string): Promise<T> {
    const bounded = this.enforceTimeout ? withTimeout(call, this.commandTimeout) : call;
    return bounded.catch((error: unknown) => {
      throw this.failure(operation, error);
    });
  }

  /** Runs `then` once the first connection is up. */
  private afterFirstConnect<T>(then: () => Promise<T>, operation: string): Promise<T> {
    const connected = this.firstConnection() ?? Promise.resolve();
    return connected.then(then, (error: unknown) => {
      throw this.failure(operation, error);
    });
  }

  private failure(operation: string, error: unknown): Error {
    if (this.closed) {
      return new Error(RedisStoreMessages.redisStoreClosed(), { cause: error });
    }
    const reason = error instanceof Error ? error.message : String(error);
    return new Error(RedisStoreMessages.redisCommandFailed(operation, reason), { cause: error });
  }
}

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}
