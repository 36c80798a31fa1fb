import { randomBytes } from 'node:crypto';

/** The fewest claims a table holds (512 KB of slots). */
const MIN_TABLE_CLAIMS = 1 << 14;
/**
 * The most claims one table holds (32 MB of slots): a busier store chains more tables instead
 * of one larger.
 */
const MAX_TABLE_CLAIMS = 1 << 20;
/** Each table after the first holds this many times the claims held when it is made. */
const TABLE_GROWTH = 4;
/** Int32 fields per slot: both hashes and the end (ms) in two halves, in one 16-byte slot. */
const SLOT = 4;
const TWO_TO_32 = 2 ** 32;

/**
 * One table of claims, filled up to half its slots and never shrunk or rehashed: it is dropped
 * whole once every claim in it has ended. A claim is two 32-bit hashes of its scope and nonce,
 * and the time it ends, side by side so that a probe reads one cache line; a slot whose end is
 * 0 is empty.
 */
class ClaimTable {
  readonly #slots: Int32Array;
  readonly #mask: number;
  /** How many claims it may still take. */
  room: number;
  /** When its last claim ends: the table can be dropped from then on. */
  lastEnds = 0;

  constructor(readonly capacity: number) {
    this.#slots = new Int32Array(capacity * 2 * SLOT);
    this.#mask = capacity * 2 - 1;
    this.room = capacity;
  }

  /**
   * Where the claim `(high, low)` is: the index of its slot when the table holds it, otherwise
   * `-1 - index` of the empty slot where it would go (the end of the same probe).
   */
  probe(high: number, low: number): number {
    const slots = this.#slots;
    const mask = this.#mask;
    for (let slot = low & mask; ; slot = (slot + 1) & mask) {
      const at = slot * SLOT;
      if (slots[at + 2] === 0 && slots[at + 3] === 0) return -1 - at;
      if (slots[at + 1] === low && slots[at] === high) return at;
    }
  }

  /** When the claim held at `at` (a non-negative {@link probe}) ends. */
  endOf(at: number): number {
    const slots = this.#slots;
    return (slots[at + 2] >>> 0) * TWO_TO_32 + (slots[at + 3] >>> 0);
  }

  /**
   * Claims `(high, low)` until `ends`, where {@link probe} found it: in its slot when the table
   * holds it, in the empty slot it gave otherwise (the table must have room).
   */
  put(probe: number, high: number, low: number, ends: number): void {
    const slots = this.#slots;
    let at = probe;
    if (probe < 0) {
      at = -1 - probe;
      slots[at] = high;
      slots[at + 1] = low;
      this.room--;
    }
    slots[at + 2] = Math.floor(ends / TWO_TO_32);
    slots[at + 3] = ends % TWO_TO_32;
    if (ends > this.lastEnds) this.lastEnds = ends;
  }
}

/**
 * The nonces a memory store has seen, each claimed for a window: a claimed nonce is refused
 * until its window ends.
 *
 * A claim is kept as a 64-bit hash of its scope and nonce (two 32-bit hashes, seeded at random
 * per set) in typed-array tables, not as a string in a `Map`: a busy store holds a million
 * claims, and as strings they cost about 250 bytes each, a `Map` that rehashes them all at once
 * as it grows (a 200 ms pause at a million), and garbage-collector work on every claim. Here a
 * claim costs 32 bytes, and no step copies the claims. Tables fill in turn and are dropped whole
 * once their last claim ends; a lookup reads each live table (two or three at a steady rate).
 *
 * Two different nonces of a scope share a hash with a chance of about 2^-64 per claim held:
 * the newer one is then refused as a replay. A replayed nonce is always refused.
 *
 * @example
 * ```ts
 * nonces.claim(sessionId, nonce, 300_000, now); // true
 * nonces.claim(sessionId, nonce, 300_000, now + 1); // false: already claimed
 * ```
 */
export class NonceSet {
  /** The tables, oldest first; claims go into the last one. */
  readonly #tables: ClaimTable[] = [];
  readonly #seedHigh: number;
  readonly #seedLow: number;
  /** The hashes of the last {@link hash} call: two numbers, without an allocation. */
  #high = 0;
  #low = 0;

  constructor() {
    const seeds = randomBytes(8);
    this.#seedHigh = seeds.readInt32LE(0);
    this.#seedLow = seeds.readInt32LE(4);
  }

  /** How many claims the set holds, ended ones included until their table is dropped. */
  get size(): number {
    let size = 0;
    for (const table of this.#tables) size += table.capacity - table.room;
    return size;
  }

  /**
   * Claims a nonce within a scope, unless it is claimed already.
   *
   * @param scope what the nonce belongs to (a session id)
   * @param nonce the nonce
   * @param ttl how long the claim lasts (ms)
   * @param now the current time (ms)
   * @returns whether the nonce was free (and is now claimed)
   */
  claim(scope: string, nonce: string, ttl: number, now: number): boolean {
    this.prune(now);
    // A claim that ends at once holds nothing (and an end of 0 marks an empty slot).
    if (!(ttl > 0)) return true;
    this.hash(scope, nonce);
    const high = this.#high;
    const low = this.#low;
    const tables = this.#tables;
    const lastIndex = tables.length - 1;
    // The newest table's probe is kept: a new claim goes where it ended, with no second probe.
    let lastProbe = -1;
    for (let i = lastIndex; i >= 0; i--) {
      const probe = tables[i].probe(high, low);
      if (probe >= 0 && tables[i].endOf(probe) > now) return false;
      if (i === lastIndex) lastProbe = probe;
    }
    const last = tables[lastIndex];
    if (last !== undefined && (lastProbe >= 0 || last.room > 0)) {
      last.put(lastProbe, high, low, now + ttl);
    } else {
      const table = this.addTable();
      table.put(table.probe(high, low), high, low, now + ttl);
    }
    return true;
  }

  /**
   * Drops the tables whose claims have all ended by `now`, oldest first.
   *
   * @param now the current time (ms)
   */
  prune(now: number): void {
    const tables = this.#tables;
    let ended = 0;
    while (ended < tables.length && tables[ended].lastEnds <= now) ended++;
    if (ended > 0) tables.splice(0, ended);
  }

  /** A new table for the claims to come, once the last one is full. */
  private addTable(): ClaimTable {
    // Sized for the claims held now: at a steady rate, a table then lasts about one window,
    // and a rising rate reaches the largest tables in a few steps.
    let capacity = MIN_TABLE_CLAIMS;
    const wanted = this.size * TABLE_GROWTH;
    while (capacity < wanted && capacity < MAX_TABLE_CLAIMS) capacity *= 2;
    const table = new ClaimTable(capacity);
    this.#tables.push(table);
    return table;
  }

  /**
   * Two 32-bit hashes of `scope` and `nonce` (FNV-1a and a multiply-xorshift, each seeded, each
   * finished with MurmurHash3's mix), into `#high` and `#low`. Each string's length follows its
   * characters, so that no other split of the same characters gives the same input.
   */
  private hash(scope: string, nonce: string): void {
    this.#high = this.#seedHigh;
    this.#low = this.#seedLow;
    this.absorb(scope);
    this.absorb(nonce);
    this.#high = mix(this.#high);
    this.#low = mix(this.#low);
  }

  /** Folds `text`'s characters, then its length, into `#high` and `#low`. */
  private absorb(text: string): void {
    let a = this.#high;
    let b = this.#low;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      a = Math.imul(a ^ c, 0x01000193);
      b = Math.imul(b ^ c, 0x5bd1e995);
      b ^= b >>> 13;
    }
    this.#high = Math.imul(a ^ text.length, 0x01000193);
    this.#low = Math.imul(b ^ text.length, 0x5bd1e995);
  }
}

/** MurmurHash3's 32-bit finaliser: every input bit reaches every output bit. */
function mix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}
