import type { Attributes, Histogram } from '@opentelemetry/api';

/** Values held before they are handed to the SDK together: about a millisecond of records. */
const CAPACITY = 512;

/**
 * A histogram whose records wait in a typed array and reach the SDK in batches: when the array
 * is full, and at every collection (the owner flushes from an observable callback, which the SDK
 * runs before it reads the histograms), so that an export holds the same values as with direct
 * records.
 *
 * OpenTelemetry's JavaScript SDK hashes a record's attributes (sorting their keys, then
 * `JSON.stringify`) on every call. Made on a request path, between the framework's own work, a
 * record costs several times what it costs in a loop: here a guarded request writes two numbers,
 * and the records are made back to back.
 *
 * Until {@link hold} turns batching on, and after it turns it off, every value goes to the SDK
 * at once: an owner with no collection hook never keeps a value back.
 *
 * @example
 * ```ts
 * const durations = new BufferedHistogram(histogram, [{}, { 'mesh_session.store.operation': 'get' }]);
 * durations.hold(true);
 * durations.record(1, 0.000042); // in the array
 * durations.flush(); // in the SDK
 * ```
 */
export class BufferedHistogram {
  private readonly values = new Float64Array(CAPACITY);
  private readonly slots = new Uint16Array(CAPACITY);
  private length = 0;
  /** How many values trigger a flush: 1 when not batching. */
  private limit = 1;

  /**
   * @param histogram the SDK's histogram
   * @param sets the attribute sets a record may carry, by slot (fewer than 65,536)
   */
  constructor(
    private readonly histogram: Histogram,
    private readonly sets: readonly Attributes[],
  ) {}

  /**
   * Records a value.
   *
   * @param slot the index of its attribute set
   * @param value the value (seconds)
   */
  record(slot: number, value: number): void {
    const i = this.length;
    this.values[i] = value;
    this.slots[i] = slot;
    this.length = i + 1;
    if (i + 1 >= this.limit) this.flush();
  }

  /** Hands the values held to the SDK. */
  flush(): void {
    const n = this.length;
    // Emptied first: a record that throws loses its batch, never records a value twice.
    this.length = 0;
    const { histogram, sets, values, slots } = this;
    for (let i = 0; i < n; i++) histogram.record(values[i] as number, sets[slots[i] as number]);
  }

  /**
   * Turns batching on (the owner flushes at every collection) or off (flushing what is held).
   *
   * @param batching whether values may wait
   */
  hold(batching: boolean): void {
    this.limit = batching ? CAPACITY : 1;
    if (!batching) this.flush();
  }
}
