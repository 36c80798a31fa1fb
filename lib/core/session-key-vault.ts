/**
 * Where a stored session's key and times live when a store keeps them outside the session
 * objects, in memory laid out its own way. The session only ever asks the vault for a copy of
 * its key and reads its times at the index the vault gave it when it was bound, so any layout
 * fits. Internal: not exported from the package.
 *
 * @example
 * ```ts
 * class OneSessionVault implements SessionKeyVault {
 *   readonly times = new Float64Array(3);
 *   constructor(private readonly key: Buffer) {}
 *   copyKey(): Buffer { return Buffer.from(this.key); }
 *   timesIndex(): number { return 0; }
 * }
 * bindSessionKey(session, new OneSessionVault(key), 0);
 * ```
 *
 * @internal
 */
export interface SessionKeyVault {
  /**
   * A copy of the key in `slot`, in a Buffer of its own.
   *
   * @param slot the slot the store bound the session to
   */
  copyKey(slot: number): Buffer;
  /**
   * Copies the key in `slot` into the first 32 bytes of `target`, for a caller that wipes it
   * once used: no Buffer is made. A vault that cannot (one that decrypts its key, say) leaves it
   * out, and {@link SessionKeyVault.copyKey} is used.
   *
   * @param slot the slot the store bound the session to
   * @param target at least 32 bytes
   */
  copyKeyInto?(slot: number, target: Buffer): void;
  /**
   * The times of the sessions in the vault. A session reads `createdAt`, `lastActivity` and
   * `expiresAt` at `timesIndex(slot)` and the next two indexes. A vault may replace the array
   * (to grow it): sessions read this property anew on every access.
   */
  readonly times: Float64Array;
  /**
   * Where the times of `slot` start in {@link SessionKeyVault.times}: asked once, when a
   * session is bound, so that a read of a time costs no arithmetic on the layout.
   *
   * @param slot the slot the store binds the session to
   */
  timesIndex(slot: number): number;
}
