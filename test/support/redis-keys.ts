import { randomUUID } from 'node:crypto';
import { Cluster, type Redis } from 'ioredis';
import type { RedisKeyLayout } from '../../lib/stores/redis/redis-key-layout.js';

/**
 * Every key matching `pattern`, found with SCAN (never KEYS), on every master of a Cluster.
 *
 * @param client a single-server client, or a Cluster client
 * @param pattern a SCAN MATCH pattern, such as `mesh:{*}:n:*`
 */
export async function scanKeys(client: Redis | Cluster, pattern: string): Promise<string[]> {
  const nodes = client instanceof Cluster ? client.nodes('master') : [client];
  const found: string[] = [];
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      found.push(...keys);
    } while (cursor !== '0');
  }
  return found;
}

/** A key and what it holds, as {@link dumpKeys} lists it. */
export interface DumpedKey {
  key: string;
  /** A hash's fields and values, a sorted set's members and scores, a set's members, or a value. */
  parts: Buffer[];
}

/**
 * Every key under a prefix, found with SCAN (as the store's own code would), with its value.
 *
 * @param client a single-server client
 * @param prefix the key prefix
 */
export async function dumpKeys(client: Redis, prefix: string): Promise<DumpedKey[]> {
  const out: DumpedKey[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) out.push({ key, parts: await valueParts(client, key) });
  } while (cursor !== '0');
  return out;
}

async function valueParts(client: Redis, key: string): Promise<Buffer[]> {
  const type = await client.type(key);
  if (type === 'hash') {
    return Object.entries(await client.hgetallBuffer(key)).flatMap(([f, v]) => [Buffer.from(f), v]);
  }
  if (type === 'zset') return client.zrangeBuffer(key, 0, -1, 'WITHSCORES');
  if (type === 'set') return client.smembersBuffer(key);
  return [(await client.getBuffer(key)) ?? Buffer.alloc(0)];
}

/**
 * The claimed-nonce keys under a prefix, found with SCAN.
 *
 * @param client a single-server client, or a Cluster client
 * @param prefix the store's key prefix
 */
export function nonceKeys(client: Redis | Cluster, prefix: string): Promise<string[]> {
  return scanKeys(client, `${prefix}{*}:n:*`);
}

/**
 * A random session id whose keys fall in partition `p`.
 *
 * @param layout the store's key layout
 * @param p a partition number
 */
export function idInPartition(layout: RedisKeyLayout, p: number): string {
  for (;;) {
    const id = randomUUID();
    if (layout.session(id).base === layout.partitions[p]) return id;
  }
}
