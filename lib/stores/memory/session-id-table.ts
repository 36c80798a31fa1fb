import { randomBytes } from 'node:crypto';
import { sessionKeySlot, type MeshSession } from '../../core/mesh-session.js';
import { SessionMessages } from '../../core/session.messages.js';
import { readUuidWords } from './uuid-words.js';

/** Smallest capacity of the table (entries; a power of two). */
const MIN_CAPACITY = 1 << 10;
/** Int32 words per entry: the id's four words, then the session's slab slot. */
const ENTRY_WORDS = 5;

/**
 * The memory store's sessions by id. Lower-case UUIDs (the ids the manager hands out) sit in an
 * open-addressing table keyed by the id's 128 bits, so that a lookup reads one table entry and
 * the session, never the stored id string; each entry also keeps the session's slab slot, so that
 * a touch reaches the times without asking the session. Other ids (custom sessions, rare) are
 * kept in a Map.
 *
 * @example
 * ```ts
 * const entry = table.reserve(session.id); // throws on a taken id
 * table.insert(entry, session, slot);
 * table.find(session.id) === session; // true; table.foundSlot === slot
 * ```
 */
export class SessionIdTable {
  /** Sessions by position; `undefined` marks a free entry. */
  private table: (MeshSession | undefined)[] = new Array<MeshSession | undefined>(
    MIN_CAPACITY,
  ).fill(undefined);
  /** Per entry: the 128 bits of the id as four 32-bit words, then the slab slot. */
  private entries = new Int32Array(MIN_CAPACITY * ENTRY_WORDS);
  private mask = MIN_CAPACITY - 1;
  private used = 0;
  /** Sessions whose id is not a lower-case UUID. */
  private readonly otherIds = new Map<string, MeshSession>();
  /** Per-table seed of the hash. */
  private readonly hashSeed = randomBytes(4).readInt32LE(0);
  /** The words of the id being looked up (scratch). */
  private readonly idWords = new Int32Array(4);
  /** The words of an entry being shifted back by `shiftBack` (scratch). */
  private readonly shiftWords = new Int32Array(4);
  /**
   * The entry of each slab slot's session, or -1 (a free slot, or an id kept in `otherIds`):
   * a removal finds its entry without reading the id string or probing.
   */
  private entryOfSlot = new Int32Array(MIN_CAPACITY).fill(-1);

  /** The slab slot of the session `find` returned last. */
  foundSlot = -1;

  /** How many sessions the table holds. */
  get size(): number {
    return this.used + this.otherIds.size;
  }

  /**
   * The stored session with this id; its slab slot is left in {@link SessionIdTable.foundSlot}.
   *
   * @param id any string
   */
  find(id: string): MeshSession | undefined {
    if (!readUuidWords(id, this.idWords)) {
      const session = this.otherIds.size === 0 ? undefined : this.otherIds.get(id);
      if (session !== undefined) this.foundSlot = sessionKeySlot(session);
      return session;
    }
    const i = this.probe(this.idWords);
    const session = this.table[i];
    if (session !== undefined) this.foundSlot = this.entries[i * ENTRY_WORDS + 4];
    return session;
  }

  /**
   * Checks that no session has this id, and finds the entry a session with it would take: one
   * probe does both. Hand the result to {@link SessionIdTable.insert} before any other call on
   * the table.
   *
   * @param id the new session's id
   * @returns the entry, or -1 for an id that is not a lower-case UUID
   * @throws {Error} when a session with this id is stored
   */
  reserve(id: string): number {
    if (!readUuidWords(id, this.idWords)) {
      if (this.otherIds.has(id)) throw new Error(SessionMessages.sessionIdCollision());
      return -1;
    }
    if ((this.used + 1) * 2 > this.table.length) this.grow();
    const i = this.probe(this.idWords);
    if (this.table[i] !== undefined) throw new Error(SessionMessages.sessionIdCollision());
    return i;
  }

  /**
   * Stores a session in the entry {@link SessionIdTable.reserve} gave for its id.
   *
   * @param entry what `reserve` returned
   * @param session the session
   * @param slot its slab slot
   */
  insert(entry: number, session: MeshSession, slot: number): void {
    if (entry === -1) this.otherIds.set(session.id, session);
    else this.occupy(entry, session, this.idWords, slot);
  }

  /**
   * Removes a stored session, found through its slab slot.
   *
   * @param session a stored session
   * @param slot its slab slot
   */
  delete(session: MeshSession, slot: number): void {
    const i = slot < this.entryOfSlot.length ? this.entryOfSlot[slot] : -1;
    if (i === -1) {
      this.otherIds.delete(session.id);
      return;
    }
    this.entryOfSlot[slot] = -1;
    this.shiftBack(i);
  }

  /**
   * Reads the entry of the session in `slot`, ahead of its removal (see
   * `SweepRemoval.preload`).
   *
   * @param slot a slab slot in use
   * @returns a number made of what was read: the caller keeps it, so that the reads are not
   *   optimised away
   */
  preload(slot: number): number {
    const i = slot < this.entryOfSlot.length ? this.entryOfSlot[slot] : -1;
    if (i === -1) return 0;
    return this.entries[i * ENTRY_WORDS + 4] ^ (this.table[i] === undefined ? 0 : 1);
  }

  /** The entry holding these id words, or else the free entry where they would go. */
  private probe(words: Int32Array): number {
    const entries = this.entries;
    const mask = this.mask;
    let i = this.hash(words) & mask;
    for (;;) {
      if (this.table[i] === undefined) return i;
      const at = i * ENTRY_WORDS;
      if (
        entries[at] === words[0] &&
        entries[at + 1] === words[1] &&
        entries[at + 2] === words[2] &&
        entries[at + 3] === words[3]
      ) {
        return i;
      }
      i = (i + 1) & mask;
    }
  }

  /** Fills the free entry `i`. */
  private occupy(i: number, session: MeshSession, words: Int32Array, slot: number): void {
    this.table[i] = session;
    const at = i * ENTRY_WORDS;
    this.entries[at] = words[0];
    this.entries[at + 1] = words[1];
    this.entries[at + 2] = words[2];
    this.entries[at + 3] = words[3];
    this.entries[at + 4] = slot;
    if (slot >= this.entryOfSlot.length) this.growSlots(slot);
    this.entryOfSlot[slot] = i;
    this.used++;
  }

  /** Room in `entryOfSlot` for `slot` (the slab grows by doubling, so this does too). */
  private growSlots(slot: number): void {
    let length = this.entryOfSlot.length * 2;
    while (length <= slot) length *= 2;
    const grown = new Int32Array(length).fill(-1);
    grown.set(this.entryOfSlot);
    this.entryOfSlot = grown;
  }

  /**
   * Frees entry `i`, moving back each later entry of its cluster that may take its place (no
   * tombstones).
   */
  private shiftBack(i: number): void {
    const table = this.table;
    const entries = this.entries;
    const mask = this.mask;
    const entry = this.shiftWords;
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      if (table[j] === undefined) break;
      const bj = j * ENTRY_WORDS;
      entry[0] = entries[bj];
      entry[1] = entries[bj + 1];
      entry[2] = entries[bj + 2];
      entry[3] = entries[bj + 3];
      const home = this.hash(entry) & mask;
      // The entry at j stays when its home lies cyclically in (i, j].
      if (i <= j ? i < home && home <= j : i < home || home <= j) continue;
      table[i] = table[j];
      const bi = i * ENTRY_WORDS;
      entries[bi] = entry[0];
      entries[bi + 1] = entry[1];
      entries[bi + 2] = entry[2];
      entries[bi + 3] = entry[3];
      entries[bi + 4] = entries[bj + 4];
      this.entryOfSlot[entries[bj + 4]] = i;
      i = j;
    }
    table[i] = undefined;
    this.used--;
  }

  private grow(): void {
    const oldTable = this.table;
    const oldEntries = this.entries;
    const capacity = oldTable.length * 2;
    this.table = new Array<MeshSession | undefined>(capacity).fill(undefined);
    this.entries = new Int32Array(capacity * ENTRY_WORDS);
    this.mask = capacity - 1;
    // occupy() counts the entries again.
    this.used = 0;
    const words = new Int32Array(4);
    for (let i = 0; i < oldTable.length; i++) {
      const session = oldTable[i];
      if (session === undefined) continue;
      const at = i * ENTRY_WORDS;
      words.set(oldEntries.subarray(at, at + 4));
      this.occupy(this.probe(words), session, words, oldEntries[at + 4]);
    }
  }

  /** A 32-bit mix of the id's words (UUID v7 and v1 ids are not random in their first bits). */
  private hash(words: Int32Array): number {
    let h = words[0] ^ words[1] ^ words[2] ^ words[3] ^ this.hashSeed;
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    return h ^ (h >>> 16);
  }
}
