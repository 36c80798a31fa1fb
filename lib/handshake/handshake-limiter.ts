import { RateLimiterMemory } from 'rate-limiter-flexible';
import type { RateLimiter } from '../core/rate-limiter.js';
import type { RateLimiterOptions } from '../core/rate-limiter-options.js';
import type { SessionStore } from '../core/session-store.js';

/** Why a hello was refused before its signature was checked. */
export interface HandshakeRefusal {
  /** Seconds the caller should wait. */
  readonly retryAfter: number;
  /** Which limit refused it. */
  readonly limit: 'pair' | 'failures';
}

/**
 * The handshake endpoint's limits, designed so that no caller can lock out another:
 *
 * 1. **Per pair.** `handshake.rateLimit` counts hellos per (peer address, claimed service), not
 *    per address: a client behind the same NAT, proxy or node that sends bad hellos, or floods
 *    its own, only spends the budget of the pairs it uses. Ids that are not pinned share one
 *    pair per address (`<address>|?`), so inventing ids gains nothing. The counts live in the
 *    store, so they hold across instances.
 * 2. **Failures per second, per instance.** Signature checks cost CPU whoever sends them. At
 *    most `handshake.maxFailuresPerSecond` failed hellos a second are checked in full; past
 *    that, a hello from a pair that failed within the last window is refused (429) before its
 *    signature is checked, while a pair with no recent failure is still checked. A flood thus
 *    costs at most that many failed checks a second, plus one per new pair.
 *
 * The limit of the design: a neighbour at the same address that claims the SAME pinned service
 * as a legitimate caller shares that caller's pair budget. Pinned services whose peers share an
 * address should each have their own identity.
 *
 * @example
 * ```ts
 * const refusal = await limiter.admit('10.0.0.7', 'caller');
 * // ...verify; when it fails:
 * await limiter.failed('10.0.0.7', 'caller');
 * ```
 */
export class HandshakeLimiter {
  /** Hellos per (address, claimed service), or `null` when not limited. */
  readonly pairs: RateLimiter | null;
  /** Failed hellos this second, in this instance. */
  private readonly failures: RateLimiterMemory;
  /** Pairs that failed within the per-pair window. */
  private readonly failedPairs: RateLimiterMemory;
  private readonly maxFailuresPerSecond: number;

  /**
   * @param store the backend of the per-pair counts
   * @param rateLimit the per-pair limit, or `false`
   * @param maxFailuresPerSecond failed hellos checked in full per second
   */
  constructor(
    store: SessionStore,
    rateLimit: Required<RateLimiterOptions> | false,
    maxFailuresPerSecond: number,
  ) {
    this.pairs = rateLimit === false ? null : store.createRateLimiter(rateLimit);
    this.maxFailuresPerSecond = maxFailuresPerSecond;
    this.failures = new RateLimiterMemory({ points: maxFailuresPerSecond, duration: 1 });
    const window = rateLimit === false ? 60 : Math.ceil(rateLimit.windowMs / 1000);
    this.failedPairs = new RateLimiterMemory({ points: 1, duration: window });
  }

  /**
   * Whether a hello may be checked.
   *
   * @param address the peer address
   * @param service the claimed service when it is pinned, else `undefined`
   * @returns `undefined` to go on, or why the hello is refused
   * @throws whatever the per-pair backend throws (the caller answers 503)
   */
  async admit(address: string, service: string | undefined): Promise<HandshakeRefusal | undefined> {
    const pair = pairKey(address, service);
    const spent = (await this.failures.get(FAILURES))?.consumedPoints ?? 0;
    if (spent >= this.maxFailuresPerSecond && (await this.failedPairs.get(pair)) !== null) {
      return { retryAfter: 1, limit: 'failures' };
    }
    if (this.pairs === null) return undefined;
    const result = await this.pairs.checkLimit(`handshake:${pair}`);
    return result.allowed ? undefined : { retryAfter: result.retryAfter ?? 1, limit: 'pair' };
  }

  /**
   * A hello from this pair failed its checks.
   *
   * @param address the peer address
   * @param service the claimed service when it is pinned, else `undefined`
   */
  async failed(address: string, service: string | undefined): Promise<void> {
    // Both limiters reject once spent: that is the state admit() reads, not an error.
    await Promise.all([
      this.failures.consume(FAILURES).catch(() => undefined),
      this.failedPairs.consume(pairKey(address, service)).catch(() => undefined),
    ]);
  }

  /** Releases the per-pair limiter's timers. */
  async close(): Promise<void> {
    await this.pairs?.close();
  }
}

const FAILURES = 'failures';

function pairKey(address: string, service: string | undefined): string {
  return `${address}|${service ?? '?'}`;
}
