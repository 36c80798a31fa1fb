// Loads sessions into Redis the way RedisSessionStore.create() writes them, but through ioredis
// pipelines of the store's own create script: filling Redis with 1,000,000 sessions one awaited
// createSession() at a time would take most of the suite's time budget. Only the loading goes
// this way; the cleanup that is measured runs through the public API. After loading, the
// caller checks through the store that the sessions are there and readable, so a change of the
// store's layout makes the benchmark fail instead of measuring the wrong thing.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { RedisKeyLayout } from '../../dist/stores/redis/redis-key-layout.js';
import { RedisSessionCipher } from '../../dist/stores/redis/redis-session-cipher.js';
import { RedisSessionScripts } from '../../dist/stores/redis/redis-session-scripts.js';

const PIPELINE = 2_000;

export class RedisSessionLoader {
  /**
   * @param {{ url: string, keyPrefix: string, encryptionKey: Buffer }} options the same as the
   *   store's
   */
  constructor({ url, keyPrefix, encryptionKey }) {
    this.client = new Redis(url);
    this.layout = new RedisKeyLayout(keyPrefix);
    this.cipher = new RedisSessionCipher([encryptionKey]);
    this.loaded = false;
  }

  /**
   * Creates `count` sessions; session `i` gets `timeOf(i)` as createdAt and lastActivity, and
   * expires `timeout` ms later.
   *
   * @returns the new sessions' ids
   */
  async load(count, { serviceOf, keyOf, timeOf, timeout }) {
    const { sha, source } = RedisSessionScripts.create;
    if (!this.loaded) {
      await this.client.script('LOAD', source);
      this.loaded = true;
    }
    const ids = new Array(count);
    for (let from = 0; from < count; from += PIPELINE) {
      const pipeline = this.client.pipeline();
      for (let i = from; i < Math.min(count, from + PIPELINE); i++) {
        const id = randomUUID();
        ids[i] = id;
        const serviceId = serviceOf(i);
        const now = timeOf(i);
        const { hid, base, record, index } = this.layout.session(id);
        const serviceHash = this.layout.serviceHash(serviceId);
        // The arguments of RedisSessionStore.create(), for a session without metadata.
        pipeline.evalsha(
          sha,
          3,
          record,
          index,
          this.layout.serviceIndex(base, serviceHash),
          hid,
          hid + serviceHash,
          now + timeout,
          timeout,
          'v',
          serviceId,
          'w',
          serviceHash,
          'k',
          this.cipher.encrypt(keyOf(i), id),
          'i',
          this.cipher.encrypt(Buffer.from(id), hid),
          'c',
          String(now),
          'l',
          String(now),
          'e',
          String(now + timeout),
        );
      }
      const results = await pipeline.exec();
      const failed = results.find(([error, created]) => error !== null || created !== 1);
      if (failed !== undefined) throw failed[0] ?? new Error('the create script refused a session');
    }
    return ids;
  }

  close() {
    this.client.disconnect();
  }
}
