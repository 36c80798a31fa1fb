import type { Session } from '../../core/session.interface.js';
import type { RedisConnection } from './redis-connection.js';
import type { RedisKeyLayout } from './redis-key-layout.js';
import type { RecordReply } from './redis-session-record.js';
import { RedisSessionScripts as Scripts } from './redis-session-scripts.js';

/** Index entries handled per script call: small enough to keep each call well under 1 ms. */
const BATCH = 256;
/** Partitions {@link RedisPartitionSweeper.deleteExpired} works on at the same time. */
const CLEANUP_WORKERS = 4;

/** Turns a record found in an index into a session, or `undefined` when it cannot be read. */
export type RedisRecordDecoder = (fields: RecordReply, hid: string) => Session | undefined;

/**
 * The store's operations that span every partition: a service's sessions, the cleanup of
 * expired ones, the count of live ones. Each partition is walked in batches of 256 index entries, one script
 * call per batch, so that neither Redis nor the event loop is held for long.
 *
 * @example
 * ```ts
 * const sweeper = new RedisPartitionSweeper(connection, keys);
 * const removed = await sweeper.deleteExpired(Date.now());
 * ```
 */
export class RedisPartitionSweeper {
  /**
   * @param connection the store's connection
   * @param keys the store's key names
   */
  constructor(
    private readonly connection: RedisConnection,
    private readonly keys: RedisKeyLayout,
  ) {}

  /**
   * The live sessions of one service, from its per-partition sets.
   *
   * @param serviceId the service id
   * @param now the current time (ms)
   * @param decode how to build a session from a record
   */
  async findService(
    serviceId: string,
    now: number,
    decode: RedisRecordDecoder,
  ): Promise<Session[]> {
    const serviceHash = this.keys.serviceHash(serviceId);
    const perPartition = await Promise.all(
      this.keys.partitions.map((base) =>
        this.findInPartition(base, serviceId, serviceHash, now, decode),
      ),
    );
    return perPartition.flat();
  }

  /**
   * Removes every session of one service.
   *
   * @param serviceId the service id
   * @returns how many sessions were removed
   */
  async deleteService(serviceId: string): Promise<number> {
    const serviceHash = this.keys.serviceHash(serviceId);
    const removed = await Promise.all(
      this.keys.partitions.map(async (base) => {
        const keys = [this.keys.serviceIndex(base, serviceHash), this.keys.index(base)];
        let total = 0;
        let popped: number;
        do {
          let removedNow: number;
          [removedNow, popped] = await this.connection.run<[number, number]>(
            Scripts.deleteService,
            keys,
            [serviceHash, BATCH],
          );
          total += removedNow;
        } while (popped === BATCH);
        return total;
      }),
    );
    return removed.reduce((sum, n) => sum + n, 0);
  }

  /**
   * Prunes the expiry indexes of every partition, a few partitions at a time. Each entry is
   * counted by the one call that removed it, so instances may run it at the same time.
   *
   * @param now the current time (ms)
   * @returns how many sessions were removed
   */
  async deleteExpired(now: number): Promise<number> {
    const partitions = [...this.keys.partitions];
    let removed = 0;
    const worker = async (): Promise<void> => {
      for (let base = partitions.pop(); base !== undefined; base = partitions.pop()) {
        const index = this.keys.index(base);
        let visited: number;
        do {
          let removedNow: number;
          [removedNow, visited] = await this.connection.run<[number, number]>(
            Scripts.deleteExpired,
            [index],
            [now, BATCH],
          );
          removed += removedNow;
        } while (visited === BATCH);
      }
    };
    // A few partitions in parallel: on a Cluster they sit on different masters.
    await Promise.all(Array.from({ length: CLEANUP_WORKERS }, worker));
    return removed;
  }

  /**
   * The live sessions of every partition, summed (see `RedisSessionScripts.count`).
   *
   * @param now the current time (ms)
   */
  async count(now: number): Promise<number> {
    const live = await Promise.all(
      this.keys.partitions.map(async (base) => {
        const index = [this.keys.index(base)];
        let counted: number;
        let visited: number;
        do {
          [counted, visited] = await this.connection.run<[number, number]>(Scripts.count, index, [
            now,
            BATCH,
          ]);
        } while (visited === BATCH);
        return counted;
      }),
    );
    return live.reduce((sum, n) => sum + n, 0);
  }

  private async findInPartition(
    base: string,
    serviceId: string,
    serviceHash: string,
    now: number,
    decode: RedisRecordDecoder,
  ): Promise<Session[]> {
    const found: Session[] = [];
    const seen = new Set<string>();
    const keys = [this.keys.serviceIndex(base, serviceHash), this.keys.index(base)];
    let cursor = '0';
    do {
      const reply = await this.connection.run<[string, ...(string | RecordReply)[]]>(
        Scripts.findService,
        keys,
        [now, cursor, BATCH],
      );
      cursor = reply[0];
      for (let i = 1; i < reply.length; i += 2) {
        const hid = reply[i] as string;
        // SSCAN may return a member twice.
        if (seen.has(hid)) continue;
        seen.add(hid);
        const session = decode(reply[i + 1] as RecordReply, hid);
        if (session !== undefined && session.serviceId === serviceId) found.push(session);
      }
    } while (cursor !== '0');
    return found;
  }
}
