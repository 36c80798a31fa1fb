import { inspect } from 'node:util';
import type { Session } from './session.interface.js';

/**
 * The {@link Session} implementation that stores hand out.
 *
 * The key lives in a private field behind a getter, so it is not an own enumerable property:
 * `JSON.stringify`, object spread, `Object.keys` and `util.inspect` (and so Nest's `Logger`)
 * never show it. Custom stores should build their sessions with this class.
 *
 * @example
 * ```ts
 * const session = new MeshSession(randomUUID(), 'billing', key, now, now, now + 60_000);
 * JSON.stringify(session); // no "sessionKey"
 * ```
 */
export class MeshSession implements Session {
  readonly #sessionKey: Buffer;

  /**
   * @param id session id (UUID v4)
   * @param serviceId remote service id
   * @param sessionKey 32-byte key; the session keeps this exact Buffer, callers copy it first
   * @param createdAt creation time (ms)
   * @param lastActivity last activity (ms)
   * @param expiresAt expiry (ms)
   * @param metadata plain JSON-serialisable metadata
   */
  constructor(
    readonly id: string,
    readonly serviceId: string,
    sessionKey: Buffer,
    readonly createdAt: number,
    public lastActivity: number,
    public expiresAt: number,
    public metadata?: Record<string, unknown>,
  ) {
    this.#sessionKey = sessionKey;
  }

  /** The shared AES-256 key. Never serialised. */
  get sessionKey(): Buffer {
    return this.#sessionKey;
  }

  /**
   * JSON form of the session, without its key.
   *
   * @returns the public fields of the session
   */
  toJSON(): Omit<Session, 'sessionKey'> {
    return {
      id: this.id,
      serviceId: this.serviceId,
      createdAt: this.createdAt,
      lastActivity: this.lastActivity,
      expiresAt: this.expiresAt,
      metadata: this.metadata,
    };
  }

  /** Keeps the key out of `console.log`, `util.inspect` and Nest's `Logger`. */
  [inspect.custom](): string {
    return `MeshSession ${inspect(this.toJSON())}`;
  }
}
