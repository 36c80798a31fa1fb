import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { redactDumps } from '../../core/redacted.js';
import { RedisStoreMessages } from './redis-store.messages.js';

const ALGORITHM = 'aes-256-gcm';
const IV_LENGTH = 12;
const TAG_LENGTH = 16;
const KEY_ID_LENGTH = 8;
const DOT = 0x2e;
/** Base64 characters (unpadded) of the shortest body decrypt() accepts: an IV and a tag. */
const SEALED_MIN_BASE64 = Math.ceil(((IV_LENGTH + TAG_LENGTH) * 4) / 3);

/**
 * AES-256-GCM for the secrets the Redis store writes (session keys, and session ids inside
 * values). The first key encrypts; every key decrypts, so keys can be rotated: put the new key
 * first, keep the old ones until the sessions they encrypted have expired.
 *
 * A sealed value is `<keyId>.<base64(iv ‖ ciphertext ‖ tag)>`, with a random 12-byte IV and a
 * 16-byte tag. `keyId` is a short HMAC of the key, so the right key is picked without trying
 * them all, and the key itself is never revealed. Random IVs are safe for well under 2^32
 * encryptions per key: rotate long before that.
 *
 * The keys sit in private fields; `util.inspect`, `console.log`, Nest's `Logger` and
 * `JSON.stringify` show only how many there are.
 *
 * @example
 * ```ts
 * const cipher = new RedisSessionCipher([newKey, oldKey]);
 * const sealed = cipher.encrypt(sessionKey, sessionId);
 * cipher.decrypt(sealed, sessionId).equals(sessionKey); // true
 * ```
 */
export class RedisSessionCipher {
  readonly #keys: ReadonlyMap<string, Buffer>;
  readonly #encryptKeyId: string;
  readonly #encryptKey: Buffer;

  /**
   * @param keys 32-byte keys, already validated; the first one encrypts. They are copied.
   * @throws {Error} when two keys get the same key id (the same key given twice)
   */
  constructor(keys: readonly Buffer[]) {
    const byId = new Map<string, Buffer>();
    for (const key of keys) {
      const id = keyId(key);
      if (byId.has(id)) throw new Error(RedisStoreMessages.cipherDuplicateKey());
      byId.set(id, Buffer.from(key));
    }
    this.#keys = byId;
    this.#encryptKeyId = keyId(keys[0]);
    this.#encryptKey = byId.get(this.#encryptKeyId) as Buffer;
  }

  /**
   * Encrypts with the first key.
   *
   * @param plaintext what to seal
   * @param aad associated data: decryption fails unless it is given again
   * @returns the sealed value
   */
  encrypt(plaintext: Buffer, aad: string): string {
    const iv = randomBytes(IV_LENGTH);
    const cipher = createCipheriv(ALGORITHM, this.#encryptKey, iv, { authTagLength: TAG_LENGTH });
    cipher.setAAD(Buffer.from(aad));
    const body = Buffer.concat([iv, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
    return `${this.#encryptKeyId}.${body.toString('base64')}`;
  }

  /**
   * Decrypts with the key the value names.
   *
   * @param sealed a value from {@link encrypt}
   * @param aad the associated data it was sealed with
   * @returns the plaintext
   * @throws {Error} when the key is unknown (rotated out), or the value or `aad` was altered;
   *   the message never contains key material
   */
  decrypt(sealed: string, aad: string): Buffer {
    const key = this.keyOf(sealed);
    const body = Buffer.from(sealed.slice(KEY_ID_LENGTH + 1), 'base64');
    if (body.length < IV_LENGTH + TAG_LENGTH) throw new Error(RedisStoreMessages.cipherTruncated());
    const decipher = createDecipheriv(ALGORITHM, key, body.subarray(0, IV_LENGTH), {
      authTagLength: TAG_LENGTH,
    });
    decipher.setAAD(Buffer.from(aad));
    decipher.setAuthTag(body.subarray(body.length - TAG_LENGTH));
    // GCM's final() adds no bytes: update()'s Buffer is the whole plaintext, the only copy.
    const plaintext = decipher.update(body.subarray(IV_LENGTH, body.length - TAG_LENGTH));
    try {
      decipher.final();
    } catch {
      plaintext.fill(0);
      throw new Error(RedisStoreMessages.cipherUnauthentic());
    }
    return plaintext;
  }

  /**
   * Checks, without decrypting, what {@link decrypt} can check without the associated data: that
   * a key in `encryptionKeys` sealed the value and that it is long enough. Its authenticity is
   * checked when it is decrypted.
   *
   * @param sealed a value from {@link encrypt}
   * @throws {Error} when the key is unknown (rotated out) or the value is truncated
   */
  check(sealed: string): void {
    this.keyOf(sealed);
    // Base64 of at least an IV and a tag.
    if (sealed.length - KEY_ID_LENGTH - 1 < SEALED_MIN_BASE64) {
      throw new Error(RedisStoreMessages.cipherTruncated());
    }
  }

  static {
    // Keeps the keys out of `console.log`, `util.inspect` and Nest's `Logger`.
    redactDumps(this, (self) => ({ keys: self.#keys.size }));
  }

  /** The key a sealed value names. */
  private keyOf(sealed: string): Buffer {
    const key =
      sealed.charCodeAt(KEY_ID_LENGTH) === DOT
        ? this.#keys.get(sealed.slice(0, KEY_ID_LENGTH))
        : undefined;
    if (key === undefined) throw new Error(RedisStoreMessages.cipherUnknownKey());
    return key;
  }
}

function keyId(key: Buffer): string {
  return createHmac('sha256', key)
    .update('nestjs-mesh-session key id v1')
    .digest('base64url')
    .slice(0, KEY_ID_LENGTH);
}
