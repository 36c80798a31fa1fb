import { jest } from '@jest/globals';
import type { SessionManager, SessionStore } from '../../lib/index.js';

/** `SessionStore` with its in-process read-and-slide, for spying on it. */
type InProcessStore = SessionStore & { touchNow: NonNullable<SessionStore['touchNow']> };

/**
 * Makes every read-and-slide of `store` fail with `error`, whichever way the guard reaches it:
 * `touch`, and `touchNow` on a store that answers in this process.
 *
 * @returns restores both
 */
export function failTouches(store: SessionStore, error: Error): () => void {
  const touch = jest.spyOn(store, 'touch').mockRejectedValue(error);
  const touchNow =
    store.touchNow === undefined
      ? undefined
      : jest.spyOn(store as InProcessStore, 'touchNow').mockImplementation(() => {
          throw error;
        });
  return () => {
    touch.mockRestore();
    touchNow?.mockRestore();
  };
}

/**
 * Makes `touch` never answer, and the guard wait for it: a store that answers in this process
 * is then reached through its Promise, as a remote store is.
 */
export function stallTouches(store: SessionStore, manager: SessionManager): void {
  jest.spyOn(store, 'touch').mockReturnValue(new Promise(() => undefined));
  jest.spyOn(manager, 'validateSessionNow').mockReturnValue(undefined);
}

/**
 * Counts the store's reads-and-slides, whichever way the guard reaches them: through `touchNow`
 * on a store that answers in this process (the memory store's `touch` goes through it too),
 * through `touch` on any other.
 *
 * @returns how many there were since this call
 */
export function countTouches(store: SessionStore): () => number {
  const spy =
    store.touchNow === undefined
      ? jest.spyOn(store, 'touch')
      : jest.spyOn(store as InProcessStore, 'touchNow');
  return () => spy.mock.calls.length;
}
