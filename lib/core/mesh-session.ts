import { inspect } from 'node:util';
import type { SessionKeyVault } from './session-key-vault.js';
import { SessionMessages } from './session.messages.js';
import type { Session } from './session.interface.js';

/** Binds a session's key and times to a vault slot; set once by the class's static block. */
let bindKey: (session: MeshSession, vault: SessionKeyVault, slot: number) => void;
/** Ends a session's access to its key; set once by the class's static block. */
let releaseKey: (session: MeshSession) => void;
/** Reads a session's vault slot (-1 when none); set once by the class's static block. */
let keySlot: (session: MeshSession) => number;

/** Replaces a session's metadata; set once by the class's static block. */
let setMetadata: (
  session: MeshSession,
  metadata: Readonly<Record<string, unknown>> | undefined,
) => void;

/** Reads a session's key without copying it; set once by the class's static block. */
let keyBytes: (session: MeshSession) => Buffer | undefined;
/** Copies a session's key into a caller's Buffer; set once by the class's static block. */
let copyKeyInto: (session: MeshSession, target: Buffer) => boolean;

/** Where each time is, relative to the first of the session's times. */
const CREATED_AT = 0;
const LAST_ACTIVITY = 1;
const EXPIRES_AT = 2;

/**
 * The {@link Session} implementation that stores hand out.
 *
 * The key lives in a private field behind a getter, so it is not an own enumerable property:
 * `JSON.stringify`, object spread, `Object.keys` and `util.inspect` (and so Nest's `Logger`)
 * never show it. Custom stores should build their sessions with this class.
 *
 * `createdAt`, `lastActivity`, `expiresAt` and `metadata` are read-only getters, as in any class:
 * assigning one throws a `TypeError`, and only the session's store changes them. A session bound
 * to a store's vault reads its key and times there (the memory store keeps a session's times
 * beside its key, so that a check and its slide touch one cache line); any other session keeps
 * them itself. `toJSON()` (and so `JSON.stringify`) gives all the public fields, without the
 * key; an object spread copies the own fields `id` and `serviceId` only, so spread
 * `session.toJSON()` for a plain copy.
 *
 * The id is flattened on construction: `crypto.randomUUID()` returns a string made of many
 * pieces (about 480 bytes); a flat copy takes about 58.
 *
 * @example
 * ```ts
 * const session = new MeshSession(randomUUID(), 'billing', key, now, now, now + 60_000);
 * JSON.stringify(session); // no "sessionKey"
 * const copy = { ...session.toJSON() }; // plain fields, no key
 * ```
 */
export class MeshSession implements Session {
  /** Session id (UUID v4). */
  declare readonly id: string;
  /** Remote service id. */
  declare readonly serviceId: string;
  /** The key while the session is in no vault; `undefined` once a vault holds it or it ended. */
  #key: Buffer | undefined;
  /** The store's vault while the session is stored there: it then holds the key and times. */
  #vault: SessionKeyVault | undefined = undefined;
  /** The session's slot in `#vault`, or -1. */
  #slot = -1;
  /** Where the session's times start in `#vault.times`, as the vault said at bind time. */
  #at = 0;
  // The times while the session is in no vault: three number fields that live as long as the
  // session, so that a release writes its last times in place. A new array per removed session,
  // stored in an old object, left the collector copying each one out of the young generation:
  // a cleanup of 100,000 sessions out of 1,000,000 took about 1.4 times as long. The NaN
  // initialisers make V8 keep each field as a double it can overwrite; fields that start
  // `undefined` take a new number object at every write, which held the event loop for 31-37 ms
  // when a million sessions expired at once. The fields cost about 64 bytes per session.
  #createdAt = NaN;
  #lastActivity = NaN;
  #expiresAt = NaN;
  #metadata: Readonly<Record<string, unknown>> | undefined;

  static {
    bindKey = (session, vault, slot) => {
      const at = vault.timesIndex(slot);
      vault.times[at + CREATED_AT] = session.#createdAt;
      vault.times[at + LAST_ACTIVITY] = session.#lastActivity;
      vault.times[at + EXPIRES_AT] = session.#expiresAt;
      // The session's own Buffer is wiped: from now on the vault holds the only stored copy.
      session.#key?.fill(0);
      session.#key = undefined;
      session.#vault = vault;
      session.#slot = slot;
      session.#at = at;
    };
    releaseKey = (session) => {
      const vault = session.#vault;
      if (vault === undefined) {
        // A session no vault ever held (a store's copy of a removed record): its own key goes.
        session.#key?.fill(0);
        session.#key = undefined;
        return;
      }
      // The session keeps its last times, so a caller can still tell why it ended.
      const at = session.#at;
      session.#createdAt = vault.times[at + CREATED_AT];
      session.#lastActivity = vault.times[at + LAST_ACTIVITY];
      session.#expiresAt = vault.times[at + EXPIRES_AT];
      session.#vault = undefined;
      session.#slot = -1;
    };
    keySlot = (session) => session.#slot;
    keyBytes = (session) => session.#key;
    copyKeyInto = (session, target) => {
      const vault = session.#vault;
      if (vault?.copyKeyInto === undefined) return false;
      vault.copyKeyInto(session.#slot, target);
      return true;
    };
    setMetadata = (session, metadata) => {
      session.#metadata = metadata;
    };
  }

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
    id: string,
    serviceId: string,
    sessionKey: Buffer,
    createdAt: number,
    lastActivity: number,
    expiresAt: number,
    metadata?: Record<string, unknown>,
  ) {
    // Reading one character flattens the id in place; the garbage collector then drops the
    // pieces.
    if (typeof id === 'string' && id.length > 0) id.charCodeAt(0);
    this.id = id;
    this.serviceId = serviceId;
    this.#key = sessionKey;
    this.#createdAt = createdAt;
    this.#lastActivity = lastActivity;
    this.#expiresAt = expiresAt;
    this.#metadata = metadata === undefined ? undefined : deepFreeze(metadata);
  }

  // The getters repeat one expression on purpose: a private method would make every
  // construction several times slower (V8 then brands each instance).

  /** Creation time (ms since the epoch). */
  get createdAt(): number {
    const vault = this.#vault;
    return vault === undefined ? this.#createdAt : vault.times[this.#at + CREATED_AT];
  }

  /** Last activity (ms since the epoch). */
  get lastActivity(): number {
    const vault = this.#vault;
    return vault === undefined ? this.#lastActivity : vault.times[this.#at + LAST_ACTIVITY];
  }

  /** Expiry (ms since the epoch). */
  get expiresAt(): number {
    const vault = this.#vault;
    return vault === undefined ? this.#expiresAt : vault.times[this.#at + EXPIRES_AT];
  }

  /** Plain JSON-serialisable metadata, frozen: change it with `updateSessionMetadata`. */
  get metadata(): Readonly<Record<string, unknown>> | undefined {
    return this.#metadata;
  }

  /**
   * The shared AES-256 key. Never serialised. Every read gives a fresh copy, so a caller that
   * wipes or changes its copy changes nothing stored.
   *
   * @throws {Error} once the session was removed from its store: its key is gone
   */
  get sessionKey(): Buffer {
    if (this.#vault !== undefined) return this.#vault.copyKey(this.#slot);
    // No vault and no key of its own: the session left its store, and its key went with it.
    if (this.#key === undefined) throw new Error(SessionMessages.sessionKeyReleased());
    return Buffer.from(this.#key);
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

/**
 * Freezes plain JSON data in place; already frozen parts (copies the manager made) are skipped.
 */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const item of Object.values(value)) deepFreeze(item);
    Object.freeze(value);
  }
  return value;
}

/**
 * Moves a session's key and times into a store's vault: the session's own Buffer is wiped, later
 * reads copy the key out of `slot`, and the times are read and written in `vault.times`.
 * Internal: for stores that keep keys outside the session objects.
 *
 * @param session a session no vault holds
 * @param vault the store's vault
 * @param slot the slot the store gives the session
 * @example
 * ```ts
 * bindSessionKey(session, vault, slot); // slot: where the store put the key
 * ```
 * @internal
 */
export function bindSessionKey(session: MeshSession, vault: SessionKeyVault, slot: number): void {
  bindKey(session, vault, slot);
}

/**
 * Ends a session's access to its key for good: later reads of `sessionKey` throw. A session in a
 * vault gives up its slot (keeping its last times), so that the slot can be reused; any other
 * session has its own key wiped. Internal.
 *
 * @param session the session leaving its store
 * @internal
 */
export function releaseSessionKey(session: MeshSession): void {
  releaseKey(session);
}

/**
 * Replaces a stored session's metadata. Internal: for stores; callers use
 * `SessionManager.updateSessionMetadata`.
 *
 * @param session a stored session
 * @param metadata the new metadata, already frozen
 * @internal
 */
export function replaceSessionMetadata(
  session: MeshSession,
  metadata: Readonly<Record<string, unknown>> | undefined,
): void {
  setMetadata(session, metadata);
}

/**
 * The vault slot of a session, or -1 when its key is not in a vault. Internal.
 *
 * @param session any session
 * @internal
 */
export function sessionKeySlot(session: MeshSession): number {
  return keySlot(session);
}

/**
 * The key Buffer a session holds while it is in no vault, without copying it, or `undefined`.
 * Internal: for a store that copies the key into its own memory right away (the caller must not
 * keep or change the Buffer).
 *
 * @param session any session
 * @internal
 */
export function sessionKeyBuffer(session: MeshSession): Buffer | undefined {
  return keyBytes(session);
}

/**
 * Copies a stored session's key into `target` when its store's vault can (the memory store's
 * can), for a caller that uses it at once, then wipes `target`. Internal.
 *
 * @param session any session
 * @param target at least 32 bytes
 * @returns `false`, copying nothing, when it cannot: read `sessionKey` then
 * @internal
 */
export function copySessionKeyInto(session: MeshSession, target: Buffer): boolean {
  return copyKeyInto(session, target);
}
