import { hash } from 'node:crypto';

/**
 * How many partitions the session space is split into. Every key of a session lives in its
 * partition's hash slot, so each operation on a session is one atomic script on one slot, and
 * the partitions spread over the masters of a Redis Cluster. Changing it orphans stored data.
 */
export const REDIS_PARTITIONS = 32;

/**
 * The hash tag of each partition. Tag `p` hashes into Cluster slots `[512p, 512p + 512)`, so
 * the partitions spread evenly over the slot space: a Cluster whose masters hold contiguous,
 * even slot ranges (as `redis-cli --cluster create` makes them) gets an even share of them
 * (11/10/11 on 3 masters, 8 each on 4). The numbers after the dot were searched for that; a
 * test checks every tag's slot with `CLUSTER KEYSLOT`.
 */
export const REDIS_PARTITION_TAGS: readonly string[] = Object.freeze([
  'p00.62',
  'p01.50',
  'p02.11',
  'p03.23',
  'p04.71',
  'p05.43',
  'p06.110',
  'p07.30',
  'p08.52',
  'p09.60',
  'p10.32',
  'p11.3',
  'p12.30',
  'p13.113',
  'p14.1',
  'p15.13',
  'p16.20',
  'p17.12',
  'p18.101',
  'p19.32',
  'p20.20',
  'p21.12',
  'p22.53',
  'p23.61',
  'p24.32',
  'p25.173',
  'p26.41',
  'p27.73',
  'p28.10',
  'p29.22',
  'p30.0',
  'p31.42',
]);

/** Length of a base64url SHA-256 digest, the form hashed ids take in key names. */
export const REDIS_HASH_LENGTH = 43;

/** The keys of one session, derived from its id. */
export interface RedisSessionKeys {
  /** base64url SHA-256 of the session id: the only form of the id that appears in key names. */
  readonly hid: string;
  /** `<prefix>{<tag>}:` — the partition's key prefix, hash tag included. */
  readonly base: string;
  /** The session record (a hash). */
  readonly record: string;
  /** The partition's expiry index (a sorted set). */
  readonly index: string;
}

/**
 * Key names of the Redis store. Every key starts with `keyPrefix`; session ids and service ids
 * appear only as SHA-256 digests (base64url), so a key listing hands out no live session id.
 *
 * | key | type | holds |
 * |---|---|---|
 * | `<prefix>{<tag>}:s:<sha256(id)>` | hash | one session; its TTL follows `expiresAt` |
 * | `<prefix>{<tag>}:x` | sorted set | `sha256(id) + sha256(serviceId)`, scored by `expiresAt` as filed (0 once a count found it expired) |
 * | `<prefix>{<tag>}:v:<sha256(serviceId)>` | set | `sha256(id)` of the service's sessions |
 * | `<prefix>{<tag>}:n:<sha256(scope, nonce)>` | string | a claimed nonce, with its own TTL |
 * | `<prefix>rl:<serviceId>` | string | the rate-limit counter (rate-limiter-flexible) |
 *
 * `<tag>` is the partition's hash tag ({@link REDIS_PARTITION_TAGS}, `p00.62` to `p31.42`); the
 * partition is the first byte of `sha256(id)` modulo 32 (of `sha256(scope)` for a nonce). The
 * tag puts all keys of a partition in one Cluster slot, so the scripts never touch two slots.
 *
 * @example
 * ```ts
 * const layout = new RedisKeyLayout('mesh:');
 * layout.session(id).record; // 'mesh:{p07.30}:s:3q2-7w...'
 * ```
 */
export class RedisKeyLayout {
  /** The partition prefixes, `<prefix>{<tag>}:`, by partition number. */
  readonly partitions: readonly string[];
  /** Prefix of the rate limiter's keys (rate-limiter-flexible adds `:<key>`). */
  readonly rateLimitPrefix: string;

  /** @param prefix the store's `keyPrefix` */
  constructor(readonly prefix: string) {
    this.partitions = REDIS_PARTITION_TAGS.map((tag) => `${prefix}{${tag}}:`);
    this.rateLimitPrefix = `${prefix}rl`;
  }

  /** The keys of the session with this id. */
  session(id: string): RedisSessionKeys {
    // crypto.hash: one call, several times cheaper than a Hash object for an id this short.
    const hid = hash('sha256', id, 'base64url');
    const base = this.partitions[partitionOf(hid)];
    return { hid, base, record: `${base}s:${hid}`, index: `${base}x` };
  }

  /** The expiry index of a partition. */
  index(base: string): string {
    return `${base}x`;
  }

  /** The per-partition set of a service's sessions. */
  serviceIndex(base: string, serviceHash: string): string {
    return `${base}v:${serviceHash}`;
  }

  /**
   * The key of a claimed nonce. It lives in the partition of `sha256(scope)`, so that a nonce
   * claimed in a session's scope shares the session's slot.
   */
  nonce(scope: string, nonce: string): string {
    const base = this.partitions[partitionOf(hash('sha256', scope, 'base64url'))];
    return `${base}n:${hash('sha256', `${scope}\u0000${nonce}`, 'base64url')}`;
  }

  /** base64url SHA-256 of a service id, as used in key names and index members. */
  serviceHash(serviceId: string): string {
    return hash('sha256', serviceId, 'base64url');
  }
}

/** base64url digits, by character code. */
const BASE64URL = new Uint8Array(128);
for (let i = 0; i < 64; i++) {
  BASE64URL['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.charCodeAt(i)] = i;
}

/**
 * The partition of a hashed id: the digest's first byte modulo 32, read from its base64url form
 * (the first character holds the byte's top 6 bits, the second its low 2).
 */
function partitionOf(digest: string): number {
  const first = (BASE64URL[digest.charCodeAt(0)] << 2) | (BASE64URL[digest.charCodeAt(1)] >> 4);
  return first % REDIS_PARTITIONS;
}
