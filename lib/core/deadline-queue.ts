import { StoreTimeoutError } from './with-timeout.js';

/** A call waiting in a {@link DeadlineQueue}. */
interface PendingCall {
  /** When the call started, from `performance.now()`. */
  readonly start: number;
  /** Rejects the caller's promise; `undefined` once the call settled. */
  reject: ((error: Error) => void) | undefined;
}

// `performance` is the global one (not node:perf_hooks's), so that faked timers move it too.

/** Settled calls at the head are dropped at once when this many have piled up. */
const COMPACT_AT = 1_024;

/**
 * Bounds calls by one time limit, like {@link withTimeout}, with one timer for all of them.
 *
 * Every call gets the same limit, so a call made later also ends later: the calls wait in a plain
 * FIFO queue, which is in deadline order by construction, and a single timer waits for the
 * oldest call that is still pending. A timer per call (what `withTimeout` does) costs a timer
 * object, a list insert and a removal on every guarded request; here a call costs an array push.
 *
 * Internal: the guard keeps one per instance, for its `storeTimeout`.
 *
 * @internal
 */
export class DeadlineQueue {
  private readonly calls: PendingCall[] = [];
  /** Index of the oldest call that may still be pending. */
  private head = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** The call the timer waits for. */
  private timed: PendingCall | undefined;

  /** @param ms the time limit of every call (ms) */
  constructor(private readonly ms: number) {}

  /**
   * Settles like `promise`, or rejects with {@link StoreTimeoutError} once the time limit passed.
   *
   * @param promise the call to bound
   * @returns the bounded call
   */
  bound<T>(promise: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const call: PendingCall = { start: performance.now(), reject };
      this.calls.push(call);
      if (this.timer === undefined) this.arm(call, this.ms);
      promise.then(
        (value) => {
          if (call.reject === undefined) return;
          call.reject = undefined;
          this.dropSettled();
          resolve(value);
        },
        (error: unknown) => {
          if (call.reject === undefined) return;
          call.reject = undefined;
          this.dropSettled();
          reject(error as Error);
        },
      );
    });
  }

  private arm(call: PendingCall, delay: number): void {
    this.timed = call;
    // Unreferenced: a pending store call alone does not keep the process alive (the request
    // that made it does, through its socket).
    this.timer = setTimeout(() => this.expire(), delay).unref();
  }

  /**
   * Drops settled calls from the head. The timer runs on when nothing is pending: stopping and
   * starting it again would cost a timer per call when calls settle at once, as in-process stores
   * do; it finds nothing to do when it fires, and the next call starts it again.
   */
  private dropSettled(): void {
    const calls = this.calls;
    while (this.head < calls.length && calls[this.head].reject === undefined) this.head++;
    // Settled calls stay in the array until enough piled up: emptying it on every settle would
    // cost a resize per call.
    if (this.head < COMPACT_AT) return;
    if (this.head === calls.length) {
      calls.length = 0;
      this.head = 0;
    } else {
      calls.splice(0, this.head);
      this.head = 0;
    }
  }

  /**
   * The timer measured the limit for the call it waited for, so that call and every call that
   * started with it are over time, whatever the clock says (a faked clock may not move with
   * faked timers). The next pending call gets a timer for the rest of its limit.
   */
  private expire(): void {
    this.timer = undefined;
    const timedStart = this.timed?.start ?? -Infinity;
    this.timed = undefined;
    const now = performance.now();
    const calls = this.calls;
    while (this.head < calls.length) {
      const call = calls[this.head];
      const reject = call.reject;
      if (reject !== undefined) {
        const left = this.ms - (now - call.start);
        if (call.start > timedStart && left > 0) {
          this.arm(call, left);
          break;
        }
        call.reject = undefined;
        reject(new StoreTimeoutError(this.ms));
      }
      this.head++;
    }
    this.dropSettled();
  }
}
