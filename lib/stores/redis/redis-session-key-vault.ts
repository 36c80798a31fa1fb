import { redactDumps } from '../../core/redacted.js';
import type { SessionKeyVault } from '../../core/session-key-vault.js';
import type { RedisSessionCipher } from './redis-session-cipher.js';

/**
 * Where a session from the Redis store reads its key: the key stays sealed, as Redis stored
 * it, and is decrypted only when `session.sessionKey` is read. The guard's check never reads
 * it, so it costs no decryption; each read decrypts afresh and hands out the only plain copy,
 * which the caller owns. One vault per session, in slot 0. Internal.
 *
 * @example
 * ```ts
 * const session = new MeshSession(id, serviceId, Buffer.alloc(0), createdAt, now, expiresAt);
 * bindSessionKey(session, new RedisSessionKeyVault(cipher, sealedKey, id), 0);
 * session.sessionKey; // decrypted now, a fresh Buffer
 * ```
 *
 * @internal
 */
export class RedisSessionKeyVault implements SessionKeyVault {
  /** The session's times: `createdAt`, `lastActivity`, `expiresAt`. */
  readonly times = new Float64Array(3);
  // Private fields: no generic dump (util.inspect with showHidden, structuredClone) sees them.
  readonly #cipher: RedisSessionCipher;
  readonly #sealed: string;
  readonly #id: string;

  /**
   * @param cipher the store's cipher
   * @param sealed the sealed key, as stored in the record's `k` field
   * @param id the session id: the associated data it was sealed with
   */
  constructor(cipher: RedisSessionCipher, sealed: string, id: string) {
    this.#cipher = cipher;
    this.#sealed = sealed;
    this.#id = id;
  }

  static {
    // Keeps the cipher and the sealed key out of `console.log`, `util.inspect` and the logs.
    redactDumps(this);
  }

  /**
   * Decrypts the key.
   *
   * @returns a fresh 32-byte Buffer with an ArrayBuffer of its own
   * @throws {Error} when the stored value fails authentication (it was altered); the message
   *   never contains key material
   */
  copyKey(): Buffer {
    return this.#cipher.decrypt(this.#sealed, this.#id);
  }

  /**
   * Where the session's times start: the vault holds one session.
   *
   * @returns 0
   */
  timesIndex(): number {
    return 0;
  }
}
