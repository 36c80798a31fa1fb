import { createHash } from 'node:crypto';

/**
 * How many partitions the session space is split into. Every key of a session lives in its
 * partition's hash slot, so each operation on a session is one atomic script on one slot, and
 * the partitions spread over the masters of a Redis Cluster. Changing it orphans stored data.
 */
export const REDIS_PARTITIONS = 32;

/** Length of a base64url SHA-256 digest, the form hashed ids take in key names. */
export const REDIS_HASH_LENGTH = 43;

/** The keys of one session, derived from its id. */
export interface RedisSessionKeys {
  /** base64url SHA-256 of the session id: the only form of the id that appears in key names. */
  readonly hid: string;
  /** `<prefix>{pNN}:` — the partition's key prefix, hash tag included. */
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
 * | `<prefix>{pNN}:s:<sha256(id)>` | hash | one session; its TTL follows `expiresAt` |
 * | `<prefix>{pNN}:x` | sorted set | `sha256(id) + sha256(serviceId)`, scored by `expiresAt` as filed |
 * | `<prefix>{pNN}:v:<sha256(serviceId)>` | set | `sha256(id)` of the service's sessions |
 * | `<prefix>{pNN}:n:<sha256(scope, nonce)>` | string | a claimed nonce, with its own TTL |
 * | `<prefix>rl:<serviceId>` | string | the rate-limit counter (rate-limiter-flexible) |
 *
 * `NN` is the partition (`00`..`31`), taken from the first byte of `sha256(id)` (or of
 * `sha256(scope)` for a nonce). The `{pNN}` hash tag puts all keys of a partition in one Cluster
 * slot, so the scripts never touch two slots.
 *
 * @example
 * ```ts
 * const layout = new RedisKeyLayout('mesh:');
 * layout.session(id).record; // 'mesh:{p07}:s:3q2+7w...'
 * ```
 */
export class RedisKeyLayout {
  /** The partition prefixes, `<prefix>{pNN}:`, by partition number. */
  readonly partitions: readonly string[];
  /** Prefix of the rate limiter's keys (rate-limiter-flexible adds `:<key>`). */
  readonly rateLimitPrefix: string;

  /** @param prefix the store's `keyPrefix` */
  constructor(readonly prefix: string) {
    this.partitions = Array.from(
      { length: REDIS_PARTITIONS },
      (_, p) => `${prefix}{p${String(p).padStart(2, '0')}}:`,
    );
    this.rateLimitPrefix = `${prefix}rl`;
  }

  /** The keys of the session with this id. */
  session(id: string): RedisSessionKeys {
    const digest = createHash('sha256').update(id).digest();
    const hid = digest.toString('base64url');
    const base = this.partitions[digest[0] % REDIS_PARTITIONS];
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
    const base = this.partitions[createHash('sha256').update(scope).digest()[0] % REDIS_PARTITIONS];
    const name = createHash('sha256').update(scope).update('\u0000').update(nonce).digest();
    return `${base}n:${name.toString('base64url')}`;
  }

  /** base64url SHA-256 of a service id, as used in key names and index members. */
  serviceHash(serviceId: string): string {
    return createHash('sha256').update(serviceId).digest('base64url');
  }
}
