/** Entries of a list's first chunk: most buckets of a lightly used store hold a few sessions. */
const FIRST_CHUNK = 16;
/** Entries of a full chunk (16 KiB): a chunk grows by doubling up to this size, then a new one starts. */
const CHUNK = 4_096;

/**
 * A list of slab slots in fixed-size `Int32Array` chunks. Appending never copies more than one
 * chunk, however long the list grows, so that filing a million sessions in one list never holds
 * the event loop for a whole-list copy; and a slot costs 4 bytes, not a pointer.
 *
 * @example
 * ```ts
 * const list = new SlotList();
 * list.push(slot);
 * for (let c = 0; c < list.chunkCount; c++) {
 *   const chunk = list.chunk(c);
 *   for (let i = 0, n = list.chunkLength(c); i < n; i++) visit(chunk[i]);
 * }
 * ```
 */
export class SlotList {
  /** The chunks; all but the last are full. */
  private readonly chunks: Int32Array[] = [new Int32Array(FIRST_CHUNK)];
  /** The last chunk. */
  private last: Int32Array = this.chunks[0];
  /** How many entries the last chunk holds. */
  private fill = 0;

  /** How many chunks the list has (the last may be partly filled, or empty). */
  get chunkCount(): number {
    return this.chunks.length;
  }

  /** How many slots the list holds. */
  get length(): number {
    return (this.chunks.length - 1) * CHUNK + this.fill;
  }

  /**
   * Appends a slot.
   *
   * @param slot a slab slot
   */
  push(slot: number): void {
    if (this.fill === this.last.length) this.extend();
    this.last[this.fill++] = slot;
  }

  /**
   * The chunk at `index`: read its first {@link SlotList.chunkLength} entries only.
   *
   * @param index from 0 to `chunkCount - 1`
   */
  chunk(index: number): Int32Array {
    return this.chunks[index];
  }

  /**
   * How many entries the chunk at `index` holds.
   *
   * @param index from 0 to `chunkCount - 1`
   */
  chunkLength(index: number): number {
    return index === this.chunks.length - 1 ? this.fill : CHUNK;
  }

  /** Room for one more slot: the last chunk doubles until full size, then a new one starts. */
  private extend(): void {
    const full = this.last.length;
    if (full < CHUNK) {
      const grown = new Int32Array(full * 2);
      grown.set(this.last);
      this.last = grown;
      this.chunks[this.chunks.length - 1] = grown;
    } else {
      this.last = new Int32Array(CHUNK);
      this.chunks.push(this.last);
      this.fill = 0;
    }
  }
}
