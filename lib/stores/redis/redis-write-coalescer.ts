import type { Redis } from 'ioredis';

/** The socket of an ioredis client: what {@link RedisWriteCoalescer} corks. */
type RedisClientStream = Redis['stream'];

/**
 * Coalesces the socket writes of a client the store created. While scripts already written
 * wait for their replies, the socket is corked: later scripts gather in it and go out in one
 * write at the end of the event-loop turn that wrote them, or as soon as the last of those
 * replies is in, if that comes first. Under load the guard's checks of the requests one turn
 * handles thus share one write (and Redis one read), instead of one each; a script sent after a
 * quiet spell goes out at once, and a held one never waits for a reply to go out (which would
 * cost the process a second wake-up per request at low request rates).
 *
 * The turn ends at a `setImmediate`. Where timers are faked (as in tests), held scripts still
 * go out with the last reply.
 *
 * Only the scripts the store runs are counted. Each of them settles (reply, `commandTimeout`,
 * or the connection's end), so the socket is always uncorked again; a held command's own
 * `commandTimeout` runs from the moment it was written into the socket, as without corking.
 *
 * @example
 * ```ts
 * const flush = coalescer.beforeWrite(client.stream);
 * await client.evalsha(sha, 0).finally(() => coalescer.settled(client.stream, flush));
 * ```
 */
export class RedisWriteCoalescer {
  /** The socket counted; a reconnect brings a new one, and the counts start over. */
  private stream: RedisClientStream | undefined;
  private corked = false;
  /** Scripts flushed to the socket, waiting for their replies. */
  private inFlight = 0;
  /** Scripts written while the socket is corked. */
  private held = 0;
  /** How many times the socket was uncorked: a script notes the flush it goes out with. */
  private flushes = 0;
  /** Ends a cork at the end of the turn that set it, unless a reply ended it first. */
  private readonly flushTurn = (): void => {
    if (this.corked) this.flush();
  };

  /**
   * Call just before a script is written to `stream`.
   *
   * @param stream the socket the script is written to
   * @returns the flush the script goes out with, for {@link settled}
   */
  beforeWrite(stream: RedisClientStream): number {
    if (stream !== this.stream) this.restart(stream);
    if (this.inFlight === 0) {
      this.inFlight++;
      return this.flushes;
    }
    if (!this.corked) {
      this.corked = true;
      stream.cork();
      setImmediate(this.flushTurn);
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
  settled(stream: RedisClientStream, flush: number): void {
    if (stream !== this.stream) return;
    if (flush <= this.flushes) this.inFlight--;
    else this.held--;
    if (this.inFlight === 0 && this.corked) this.flush();
  }

  /** Sends what the cork holds: the held scripts are in flight from now on. */
  private flush(): void {
    this.corked = false;
    this.flushes++;
    this.inFlight += this.held;
    this.held = 0;
    this.stream?.uncork();
  }

  private restart(stream: RedisClientStream): void {
    if (this.corked) this.stream?.uncork();
    this.stream = stream;
    this.corked = false;
    this.inFlight = 0;
    this.held = 0;
  }
}
