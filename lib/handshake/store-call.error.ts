/**
 * A store call of the handshake failed or timed out: told apart from any other error, which
 * would be a bug, so that it answers 503 and is logged as a store failure.
 *
 * @example
 * ```ts
 * throw new StoreCallError(new Error('connection lost'));
 * ```
 */
export class StoreCallError extends Error {
  /** @param cause what the store call threw */
  constructor(override readonly cause: unknown) {
    super('store call failed');
    this.name = 'StoreCallError';
  }
}
