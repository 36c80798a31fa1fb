/** How many ended claims a new claim prunes at most, so that a claim stays cheap. */
const PRUNE_PER_CLAIM = 8;

/**
 * The nonces a memory store has seen, each claimed for a window: a claimed nonce is refused
 * until its window ends. Claims sit in one Map in claim order, so that pruning the ended ones
 * stops at the first live one.
 *
 * @example
 * ```ts
 * nonces.claim(sessionId, nonce, 300_000, now); // true
 * nonces.claim(sessionId, nonce, 300_000, now + 1); // false: already claimed
 * ```
 */
export class NonceSet {
  /** Claimed nonces and when each claim ends, in claim order. */
  private readonly claims = new Map<string, number>();

  /**
   * Claims a nonce within a scope, unless it is claimed already.
   *
   * @param scope what the nonce belongs to (a session id)
   * @param nonce the nonce
   * @param ttl how long the claim lasts (ms)
   * @param now the current time (ms)
   * @returns whether the nonce was free (and is now claimed)
   */
  claim(scope: string, nonce: string, ttl: number, now: number): boolean {
    const key = `${scope}\u0000${nonce}`;
    const until = this.claims.get(key);
    if (until !== undefined && until > now) return false;
    // Re-inserted, so that the map stays ordered by claim time for pruning.
    this.claims.delete(key);
    this.claims.set(key, now + ttl);
    this.prune(now, PRUNE_PER_CLAIM);
    return true;
  }

  /**
   * Forgets claims that ended by `now`, oldest first.
   *
   * @param now the current time (ms)
   * @param limit how many ended claims to forget at most
   * @default limit Infinity
   */
  prune(now: number, limit = Infinity): void {
    let seen = 0;
    for (const [key, until] of this.claims) {
      if (until > now || seen++ >= limit) break;
      this.claims.delete(key);
    }
  }
}
