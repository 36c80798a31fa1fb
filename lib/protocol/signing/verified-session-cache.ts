import { MeshSession } from '../../core/mesh-session.js';
import { redactDumps } from '../../core/redacted.js';
import type { Session } from '../../core/session.interface.js';

/** What the verifier needs of a session before its one store call: who it is, and its key. */
export interface VerifiedSession {
  /** The session id (the signature's `keyid`). */
  readonly id: string;
  /** The remote service id, for the audit of a refusal. */
  readonly serviceId: string;
  /** A copy of the session key, owned by the cache. */
  readonly key: Buffer;
}

/**
 * How long an entry is used before the session is read from the store again (ms): a bound on
 * how long a key stays in process memory after its last use, not a correctness limit, since
 * every request's store call still refuses an ended or revoked session.
 */
const ENTRY_LIFETIME = 60_000;

/**
 * The keys of sessions whose signatures verified lately, so that signature mode on a remote
 * store makes one round trip per request instead of two: the HMAC is checked with the cached
 * key, and the one store call that claims the nonce and slides the session also finds out
 * whether the session still exists and is not revoked. A session id is never reused and a
 * session's key never changes, so a cached key is never the wrong one; only a session that
 * ended is refused later (by that call) than a read would have refused it, with the same
 * message.
 *
 * Bounded: the oldest entries go first. Entries are dropped when their session is refused and
 * after {@link ENTRY_LIFETIME}; their key copies are zeroed when they go. Keys never appear in
 * a dump of the cache.
 *
 * @example
 * ```ts
 * const cache = new VerifiedSessionCache(10_000);
 * cache.remember(session, Date.now());
 * cache.find(session.id, Date.now())?.key;
 * ```
 */
export class VerifiedSessionCache {
  readonly #entries = new Map<string, { session: VerifiedSession; until: number }>();

  /**
   * @param capacity how many sessions are kept at most
   */
  constructor(readonly capacity: number) {}

  /** How many sessions are kept. */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * The cached session, while its entry lasts.
   *
   * @param id the session id
   * @param now the current time (ms)
   * @returns the session, or `undefined`
   */
  find(id: string, now: number): VerifiedSession | undefined {
    const entry = this.#entries.get(id);
    if (entry === undefined) return undefined;
    if (entry.until > now) return entry.session;
    this.forget(id);
    return undefined;
  }

  /**
   * Keeps a session whose signature verified, with a copy of its key.
   *
   * @param session the session, as the store returned it
   * @param now the current time (ms)
   */
  remember(session: Session, now: number): void {
    if (this.capacity <= 0 || this.#entries.has(session.id)) return;
    if (this.#entries.size >= this.capacity) {
      const oldest = this.#entries.keys().next().value as string;
      this.forget(oldest);
    }
    // A MeshSession hands out a fresh copy, wiped here once copied; a plain Session may hand
    // out the Buffer it keeps, which must stay intact.
    const given = session.sessionKey;
    const key = Buffer.from(given);
    if (session instanceof MeshSession) given.fill(0);
    this.#entries.set(session.id, {
      session: { id: session.id, serviceId: session.serviceId, key },
      until: now + ENTRY_LIFETIME,
    });
  }

  /**
   * Drops a session and zeroes its key copy.
   *
   * @param id the session id
   */
  forget(id: string): void {
    const entry = this.#entries.get(id);
    if (entry === undefined) return;
    entry.session.key.fill(0);
    this.#entries.delete(id);
  }
}
redactDumps(VerifiedSessionCache, (cache) => ({ sessions: cache.size }));
