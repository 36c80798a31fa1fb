import { SessionMessages } from './session.messages.js';

/**
 * Thrown by {@link withTimeout} when the store does not answer in time.
 */
export class StoreTimeoutError extends Error {
  /** @param ms the time limit that passed */
  constructor(ms: number) {
    super(SessionMessages.storeTimeout(ms));
    this.name = 'StoreTimeoutError';
  }
}

/**
 * Settles like `promise`, or rejects with {@link StoreTimeoutError} after `ms`. The timer is
 * cleared as soon as the promise settles, so nothing is left running.
 *
 * @param promise the store call
 * @param ms the time limit (ms)
 */
export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new StoreTimeoutError(ms)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error as Error);
      },
    );
  });
}
