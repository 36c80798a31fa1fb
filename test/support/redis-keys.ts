import { Cluster, type Redis } from 'ioredis';

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
