import { MeshSession } from '../../core/mesh-session.js';
import type { Session } from '../../core/session.interface.js';
import type { RedisSessionCipher } from './redis-session-cipher.js';

/** A record as a script returns it: HGETALL's flat field/value list. */
export type RecordReply = string[];

/**
 * A slide as a script returns it: live (1 when slid, 0 when removed as expired), expiresAt,
 * then the stored serviceId, sealed key, createdAt and lastActivity, and the whole record only
 * when the session has metadata.
 */
export type TouchReply = [0 | 1, string, string, string, string, string, RecordReply?];

const NO_FIELDS: RecordReply = [];

/**
 * The session record as stored in its Redis hash, and its reader. One-letter fields hold the
 * fixed values (`v` serviceId, `w` its hash, `k` the sealed key, `i` the sealed id, `c`, `l`,
 * `e` the times, `m` set when there is metadata); each metadata entry is a field of its own,
 * `m.<name>`, holding JSON, so a patch merges shallowly in one `HSET`.
 *
 * One instance per store is filled by {@link read} and read synchronously, so decoding a reply
 * allocates nothing but the values.
 *
 * @example
 * ```ts
 * const record = new RedisSessionRecord();
 * const { serviceId, expiresAt } = record.read(fields);
 * ```
 */
export class RedisSessionRecord {
  /** The `v` field. */
  serviceId = '';
  /** The `k` field: the session key, sealed with the session id as associated data. */
  sealedKey = '';
  /** The `i` field: the session id, sealed with its hash as associated data. */
  sealedId = '';
  /** The `c` field. */
  createdAt = 0;
  /** The `l` field. */
  lastActivity = 0;
  /** The `e` field. */
  expiresAt = 0;
  /** The `m.<name>` fields, parsed; `undefined` when the session has no metadata. */
  metadata: Record<string, unknown> | undefined = undefined;

  /**
   * The fields of a new record, the key and the id sealed.
   *
   * @param session the session to store
   * @param hid the hashed session id
   * @param serviceHash the hashed service id
   * @param cipher the store's cipher
   * @returns field/value pairs, flat, for `HSET`
   */
  static encode(
    session: Session,
    hid: string,
    serviceHash: string,
    cipher: RedisSessionCipher,
  ): string[] {
    // A copy of its own, wiped once sealed: a plain Session hands over its caller's Buffer, which
    // must stay as it was.
    const key = Buffer.from(session.sessionKey);
    let sealedKey: string;
    try {
      sealedKey = cipher.encrypt(key, session.id);
    } finally {
      key.fill(0);
    }
    const fields: string[] = [
      'v',
      session.serviceId,
      'w',
      serviceHash,
      'k',
      sealedKey,
      'i',
      cipher.encrypt(Buffer.from(session.id), hid),
      'c',
      String(session.createdAt),
      'l',
      String(session.lastActivity),
      'e',
      String(session.expiresAt),
    ];
    if (session.metadata !== undefined) {
      fields.push('m', '1');
      RedisSessionRecord.pushMetadata(fields, session.metadata);
    }
    return fields;
  }

  /**
   * Appends metadata as `m.<name>`, JSON pairs: one hash field per entry merges shallowly.
   *
   * @param out where to append
   * @param metadata the entries
   */
  static pushMetadata(out: (string | number)[], metadata: Record<string, unknown>): void {
    for (const name of Object.keys(metadata)) {
      out.push(`m.${name}`, JSON.stringify(metadata[name]));
    }
  }

  /**
   * Reads a record's fields into this object, which is valid until the next call.
   *
   * @param fields the record, as HGETALL lists it
   * @returns this object
   */
  read(fields: RecordReply): this {
    this.serviceId = '';
    this.sealedKey = '';
    this.sealedId = '';
    this.createdAt = 0;
    this.lastActivity = 0;
    this.expiresAt = 0;
    this.metadata = undefined;
    for (let i = 0; i < fields.length; i += 2) {
      const name = fields[i];
      // One-letter names are the fixed fields; longer ones are metadata entries.
      if (name.length === 1) {
        this.readFixed(name, fields[i + 1]);
      } else if (name.startsWith('m.') && name !== 'm.__proto__') {
        this.metadata ??= {};
        this.metadata[name.slice(2)] = JSON.parse(fields[i + 1]) as unknown;
      }
    }
    return this;
  }

  /**
   * A session with this record's service, creation time and metadata.
   *
   * @param id the session id
   * @param sessionKey its key, or an empty Buffer for a vault or a release to take over
   * @param lastActivity its last activity (ms)
   * @param expiresAt its expiry (ms)
   */
  session(id: string, sessionKey: Buffer, lastActivity: number, expiresAt: number): MeshSession {
    const { serviceId, createdAt, metadata } = this;
    return new MeshSession(id, serviceId, sessionKey, createdAt, lastActivity, expiresAt, metadata);
  }

  /**
   * Reads a `touch` reply into this object, which is valid until the next call: the values the
   * reply lists, and the metadata of the record it carries when the session has some.
   *
   * @param reply the script's reply
   * @param at where the {@link TouchReply} starts in it
   * @returns this object
   */
  readSlide(reply: TouchReply | [1, ...TouchReply], at: number): this {
    const record = reply[at + 6] as RecordReply | undefined;
    this.read(record ?? NO_FIELDS);
    this.expiresAt = Number(reply[at + 1]);
    this.serviceId = reply[at + 2] as string;
    this.sealedKey = reply[at + 3] as string;
    this.createdAt = Number(reply[at + 4]);
    this.lastActivity = Number(reply[at + 5]);
    return this;
  }

  private readFixed(name: string, value: string): void {
    switch (name) {
      case 'v':
        this.serviceId = value;
        break;
      case 'k':
        this.sealedKey = value;
        break;
      case 'i':
        this.sealedId = value;
        break;
      case 'c':
        this.createdAt = Number(value);
        break;
      case 'l':
        this.lastActivity = Number(value);
        break;
      case 'e':
        this.expiresAt = Number(value);
        break;
      case 'm':
        this.metadata ??= {};
        break;
    }
  }
}
