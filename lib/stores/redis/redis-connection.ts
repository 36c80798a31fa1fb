import { createRequire } from 'node:module';
import { Logger } from '@nestjs/common';
import type { Cluster, Redis, RedisOptions } from 'ioredis';
import { RedisStoreMessages } from './redis-store.messages.js';
import { withTimeout } from '../../core/with-timeout.js';
import type { ResolvedRedisSessionStoreOptions } from './redis-session-store.options.js';
import type { RedisScript } from './redis-session-scripts.js';

type RedisArg = string | number | Buffer;
/** The socket of an ioredis client: what {@link WriteCoalescer} corks. */
type ClientStream = Redis['stream'];
type IoredisModule = { Redis?: new (...args: unknown[]) => Redis; default?: unknown };

/**
 * The ioredis options of a client the store creates itself, chosen so that an outage is short
 * and bounded for callers: every call fails fast while Redis is away, and the client comes back
 * within about half a second of Redis. `redisOptions` given by the user override them.
 */
export function redisClientDefaults(commandTimeout: number): RedisOptions {
  return {
    // No queue while disconnected: a call fails at once (the guard answers 503) instead of
    // piling up until Redis returns.
    enableOfflineQueue: false,
    // A call in flight when the connection drops fails at the first reconnect attempt.
    maxRetriesPerRequest: 0,
    // Never replay a call whose caller already saw it fail: a create would run twice.
    autoResendUnfulfilledCommands: false,
    // Keep reconnecting forever, at most 500 ms apart, so traffic resumes well within 2 s.
    retryStrategy: (attempt: number) => Math.min(attempt * 100, 500),
    connectTimeout: Math.max(1_000, commandTimeout * 2),
    // How long a closing socket may linger before it is destroyed.
    disconnectTimeout: commandTimeout,
    commandTimeout,
  };
}

/**
 * Loads ioredis when the store needs to create a client, so that importing the library never
 * requires it.
 *
 * @param load how to load a module; tests pass their own
 * @throws {Error} saying what to install when ioredis is missing
 */
export function loadIoredis(
  load: (id: string) => unknown = createRequire(import.meta.url),
): new (...args: unknown[]) => Redis {
  let mod: IoredisModule;
  try {
    mod = load('ioredis') as IoredisModule;
  } catch (error) {
    if ((error as NodeJS.ErrnoException)?.code === 'MODULE_NOT_FOUND') {
      throw new Error(RedisStoreMessages.ioredisMissing(), { cause: error });
    }
    throw error;
  }
  return (mod.Redis ?? mod.default) as new (...args: unknown[]) => Redis;
}

/**
 * Coalesces the socket writes of a client the store created. While scripts already written
 * wait for their replies, the socket is corked: later scripts gather in it and go out in one
 * write as soon as the last of those replies is in. Under load the guard's checks of many
 * requests thus share one write (and Redis one read), instead of one each; a script sent after
 * a quiet spell goes out at once, so nothing waits for a timer.
 *
 * Only the scripts the store runs are counted. Each of them settles (reply, `commandTimeout`,
 * or the connection's end), so the socket is always uncorked again; a held command's own
 * `commandTimeout` runs from the moment it was written into the socket, as without corking.
 */
class WriteCoalescer {
  /** The socket counted; a reconnect brings a new one, and the counts start over. */
  private stream: ClientStream | undefined;
  private corked = false;
  /** Scripts flushed to the socket, waiting for their replies. */
  private inFlight = 0;
  /** Scripts written while the socket is corked. */
  private held = 0;
  /** How many times the socket was uncorked: a script notes the flush it goes out with. */
  private flushes = 0;

  /**
   * Call just before a script is written to `stream`.
   *
   * @returns the flush the script goes out with, for {@link settled}
   */
  beforeWrite(stream: ClientStream): number {
    if (stream !== this.stream) this.restart(stream);
    if (this.inFlight === 0) {
      this.inFlight++;
      return this.flushes;
    }
    if (!this.corked) {
      this.corked = true;
      stream.cork();
    }
    this.held++;
    return this.flushes + 1;
  }

  /**
   * Call once the script settled.
   *
   * @param stream the socket it was written to
   * @param flush what {@link beforeWrite} returned
   */
  settled(stream: ClientStream, flush: number): void {
    if (stream !== this.stream) return;
    if (flush <= this.flushes) this.inFlight--;
    else this.held--;
    if (this.inFlight === 0 && this.corked) {
      this.corked = false;
      this.flushes++;
      this.inFlight = this.held;
      this.held = 0;
      stream.uncork();
    }
  }

  private restart(stream: ClientStream): void {
    if (this.corked) this.stream?.uncork();
    this.stream = stream;
    this.corked = false;
    this.inFlight = 0;
    this.held = 0;
  }
}

/**
 * The store's link to Redis: runs scripts by `EVALSHA` (falling back to `EVAL` once per node
 * when Redis has forgotten them), bounds every call by `commandTimeout`, waits for the first
 * connection, coalesces the writes of a client it created ({@link WriteCoalescer}), and closes
 * only a client it created. Errors come out as one clear message that names the operation.
 */
export class RedisConnection {
  /** The ioredis client in use. */
  readonly client: Redis | Cluster;
  /** Whether the store created the client (and so closes it). */
  readonly owned: boolean;

  private readonly logger = new Logger('RedisSessionStore');
  private readonly commandTimeout: number;
  /** Set when the client does not time out calls itself: the store does it. */
  private readonly enforceTimeout: boolean;
  private everReady: boolean;
  private readyWait: Promise<void> | undefined;
  private outage = false;
  private closed = false;
  /** Set for a client the store created; a given client is used as configured. */
  private readonly coalescer: WriteCoalescer | undefined;

  /**
   * @param options the resolved store options
   * @throws {Error} when a client must be created and ioredis is not installed
   */
  constructor(options: ResolvedRedisSessionStoreOptions) {
    this.commandTimeout = options.commandTimeout;
    if (options.client !== undefined) {
      this.client = options.client;
      this.owned = false;
      this.coalescer = undefined;
      const clientOptions = this.client.options as RedisOptions & {
        redisOptions?: RedisOptions;
      };
      const own = clientOptions.commandTimeout ?? clientOptions.redisOptions?.commandTimeout;
      this.enforceTimeout = own === undefined;
      if (clientOptions.enableOfflineQueue !== false) {
        this.logger.warn(RedisStoreMessages.redisOfflineQueue());
      }
    } else {
      const RedisClient = loadIoredis();
      const clientOptions: RedisOptions = {
        ...redisClientDefaults(options.commandTimeout),
        ...options.redisOptions,
        commandTimeout: options.commandTimeout,
      };
      this.client =
        options.url !== undefined
          ? new RedisClient(options.url, clientOptions)
          : new RedisClient(clientOptions);
      this.owned = true;
      this.enforceTimeout = false;
      // With ioredis's own auto-pipelining, commands reach the socket on a later turn: a socket
      // corked in between would hold a write the coalescer counts as sent until it timed out.
      this.coalescer =
        clientOptions.enableAutoPipelining === true ? undefined : new WriteCoalescer();
      // Without a listener ioredis prints every failed reconnect; report each outage once.
      this.client.on('error', (error: Error) => {
        if (this.outage || this.closed) return;
        this.outage = true;
        this.logger.warn(RedisStoreMessages.redisConnectionLost(error.message));
      });
      this.client.on('ready', () => {
        if (!this.outage) return;
        this.outage = false;
        this.logger.log(RedisStoreMessages.redisConnectionRestored());
      });
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
    if (this.client.status !== 'ready' && !this.everReady) {
      return this.afterFirstConnect(() => this.run<T>(script, keys, args), script.name);
    }
    const client = this.client;
    const coalescer = this.coalescer;
    // Only while ready: otherwise the command fails at once, and nothing is written.
    const stream =
      coalescer !== undefined && client.status === 'ready' ? (client as Redis).stream : undefined;
    const flush = stream !== undefined ? (coalescer as WriteCoalescer).beforeWrite(stream) : 0;
    const call = client.evalsha(script.sha, keys.length, ...keys, ...args).then(
      (reply) => {
        if (stream !== undefined) (coalescer as WriteCoalescer).settled(stream, flush);
        return reply;
      },
      (error: unknown) => {
        // Settled first: the EVAL below must not wait behind a cork this script holds.
        if (stream !== undefined) (coalescer as WriteCoalescer).settled(stream, flush);
        return isNoScript(error)
          ? client.eval(script.source, keys.length, ...keys, ...args)
          : Promise.reject(error);
      },
    );
    return this.settle(call as Promise<T>, script.name);
  }

  /**
   * Runs plain commands through the client, with the same time limit and error wrapping.
   *
   * @param operation name for error messages
   * @param command what to run
   */
  call<T>(operation: string, command: (client: Redis | Cluster) => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new Error(RedisStoreMessages.redisStoreClosed()));
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

  private settle<T>(call: Promise<T>, operation: string): Promise<T> {
    const bounded = this.enforceTimeout ? withTimeout(call, this.commandTimeout) : call;
    return bounded.catch((error: unknown) => {
      throw this.failure(operation, error);
    });
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
