import type { SessionStore } from '../core/session-store.js';
import type { SessionTelemetry } from '../core/session-telemetry.js';
import type { ClientHello } from '../protocol/handshake/handshake-hello.interface.js';

// Replay-cache scope of handshake nonces; session ids (UUIDs) can never collide with it.
const NONCE_SCOPE = 'mesh-handshake:';

/**
 * Claims a hello's nonce in the replay cache, which lives in the store, for as long as the
 * hello's timestamp would still be accepted. The store call is reported to the telemetry
 * (`claim_nonce`).
 *
 * @param store the replay cache
 * @param telemetry times the store call
 * @param hello the hello, its checks without the store passed
 * @param maxClockSkew how far a timestamp may be from this server's clock (ms)
 * @param now the current time (ms)
 * @returns whether the nonce was new; the store's Promise, not yet bounded by `storeTimeout`
 * @example
 * ```ts
 * const fresh = await storeCall(claimHelloNonce(store, telemetry, client.hello, 30_000, now));
 * ```
 */
export function claimHelloNonce(
  store: SessionStore,
  telemetry: SessionTelemetry,
  hello: ClientHello,
  maxClockSkew: number,
  now: number,
): Promise<boolean> {
  const { clientId, timestamp, nonce } = hello;
  // Claimed for as long as the timestamp would still be accepted.
  const ttl = Math.min(
    Math.max(timestamp + maxClockSkew - now, 0) + 1_000,
    2 * maxClockSkew + 1_000,
  );
  return telemetry.endStoreCall(
    'claim_nonce',
    telemetry.startStoreCall('claim_nonce'),
    store.claimNonce(`${NONCE_SCOPE}${clientId}`, nonce, ttl, now),
  );
}
