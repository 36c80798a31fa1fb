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
   * When the first claim in order ends: pruning stops at the first live claim, so until then
   * it would remove nothing, and a claim skips it without walking the map.
   */
  private firstEnds = Infinity;

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
    if (until !== undefined) {
      if (until > now) return false;
      // Re-inserted, so that the map stays ordered by claim time for pruning.
      this.claims.delete(key);
      // The first claim may have been this one: the hint must not skip a due prune.
      this.firstEnds = -Infinity;
    }
    this.claims.set(key, now + ttl);
    if (this.claims.size === 1) this.firstEnds = now + ttl;
    if (now >= this.firstEnds) this.prune(now, PRUNE_PER_CLAIM);
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
    this.firstEnds = Infinity;
    for (const [key, until] of this.claims) {
      if (until > now || seen++ >= limit) {
        this.firstEnds = until;
        break;
      }
      this.claims.delete(key);
    }
  }
}
