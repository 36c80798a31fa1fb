import { jest } from '@jest/globals';
import { DeadlineQueue } from '../../lib/core/deadline-queue.js';
import { StoreTimeoutError } from '../../lib/core/with-timeout.js';

/** A promise the test settles by hand. */
function deferred<T>(): {
  promise: Promise<T>;
  resolve: (v: T) => void;
  reject: (e: Error) => void;
} {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Follows a promise from the start, so that a rejection is always handled. */
function track(promise: Promise<unknown>): { readonly state: string } {
  const tracked = { state: 'pending' };
  promise.then(
    (v) => (tracked.state = `resolved:${String(v)}`),
    (e: unknown) => (tracked.state = `rejected:${(e as Error).name}`),
  );
  return tracked;
}

describe('DeadlineQueue', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('settles like the call when it answers in time', async () => {
    const queue = new DeadlineQueue(100);
    await expect(queue.bound(Promise.resolve('ok'))).resolves.toBe('ok');
    await expect(queue.bound(Promise.reject(new Error('boom')))).rejects.toThrow('boom');
  });

  it('rejects with StoreTimeoutError once the limit passed, not before', async () => {
    const queue = new DeadlineQueue(100);
    const bounded = queue.bound(deferred<string>().promise);
    const tracked = track(bounded);
    await jest.advanceTimersByTimeAsync(99);
    expect(tracked.state).toBe('pending');
    await jest.advanceTimersByTimeAsync(1);
    expect(tracked.state).toBe('rejected:StoreTimeoutError');
    await expect(bounded).rejects.toBeInstanceOf(StoreTimeoutError);
    await expect(bounded).rejects.toThrow('100 ms');
  });

  it('gives each pending call its own full limit', async () => {
    const queue = new DeadlineQueue(100);
    const first = track(queue.bound(deferred<string>().promise));
    await jest.advanceTimersByTimeAsync(60);
    const second = track(queue.bound(deferred<string>().promise));
    await jest.advanceTimersByTimeAsync(40);
    expect(first.state).toBe('rejected:StoreTimeoutError');
    expect(second.state).toBe('pending');
    await jest.advanceTimersByTimeAsync(59);
    expect(second.state).toBe('pending');
    await jest.advanceTimersByTimeAsync(1);
    expect(second.state).toBe('rejected:StoreTimeoutError');
  });

  it('times out a late call even when the calls before it answered', async () => {
    const queue = new DeadlineQueue(100);
    const early = deferred<string>();
    const boundEarly = queue.bound(early.promise);
    await jest.advanceTimersByTimeAsync(30);
    const late = track(queue.bound(deferred<string>().promise));
    early.resolve('early');
    await expect(boundEarly).resolves.toBe('early');
    await jest.advanceTimersByTimeAsync(99);
    expect(late.state).toBe('pending');
    await jest.advanceTimersByTimeAsync(1);
    expect(late.state).toBe('rejected:StoreTimeoutError');
  });

  it('ignores an answer that comes after the timeout', async () => {
    const queue = new DeadlineQueue(50);
    const call = deferred<string>();
    const bounded = track(queue.bound(call.promise));
    await jest.advanceTimersByTimeAsync(50);
    call.resolve('too late');
    await jest.advanceTimersByTimeAsync(0);
    expect(bounded.state).toBe('rejected:StoreTimeoutError');
    // The queue keeps working for later calls.
    await expect(queue.bound(Promise.resolve('next'))).resolves.toBe('next');
  });

  it('arms one timer for many calls that answer at once', async () => {
    const queue = new DeadlineQueue(1_000);
    const setTimeoutSpy = jest.spyOn(globalThis, 'setTimeout');
    for (let i = 0; i < 500; i++) await queue.bound(Promise.resolve(i));
    expect(setTimeoutSpy).toHaveBeenCalledTimes(1);
    // With nothing pending, the timer finds nothing to do and is not armed again.
    await jest.advanceTimersByTimeAsync(5_000);
    expect(setTimeoutSpy).toHaveBeenCalledTimes(1);
    expect(jest.getTimerCount()).toBe(0);
    setTimeoutSpy.mockRestore();
  });
});
