import { jest } from '@jest/globals';
import type { SessionManager, SessionStore } from '../../lib/index.js';

/**
 * The store calls a guarded request or a handshake makes, each with the synchronous twin a store
 * that keeps its sessions in this process answers through instead (the memory store's Promise
 * methods go through their twins too).
 */
const IN_PROCESS = {
  touch: 'touchNow',
  get: 'getNow',
  claimNonceAndTouch: 'claimNonceAndTouchNow',
  create: 'createNow',
} as const;

/** A store call the guard or the manager makes, by the name of its Promise method. */
export type GuardStoreCall = keyof typeof IN_PROCESS;

type Spied = Record<string, (...args: unknown[]) => unknown>;

/**
 * Makes every `call` of `store` fail with `error`, whichever way the guard reaches it: the
 * Promise method rejects, and its synchronous twin, on a store that has one, throws.
 *
 * @returns restores both
 */
export function failStoreCalls(
  store: SessionStore,
  call: GuardStoreCall,
  error: Error,
): () => void {
  const spied = store as unknown as Spied;
  const later = jest.spyOn(spied, call).mockRejectedValue(error as never);
  const twin = IN_PROCESS[call];
  const now =
    typeof spied[twin] === 'function'
      ? jest.spyOn(spied, twin).mockImplementation(() => {
          throw error;
        })
      : undefined;
  return () => {
    later.mockRestore();
    now?.mockRestore();
  };
}

/**
 * Counts the store's `call`s, whichever way the guard reaches them: through the synchronous
 * twin on a store that has one (its Promise method goes through the twin too), through the
 * Promise method on any other.
 *
 * @returns the arguments of each call since this one
 */
export function recordStoreCalls(store: SessionStore, call: GuardStoreCall): () => unknown[][] {
  const spied = store as unknown as Spied;
  const twin = IN_PROCESS[call];
  const spy = jest.spyOn(spied, typeof spied[twin] === 'function' ? twin : call);
  return () => spy.mock.calls;
}

/** {@link failStoreCalls} for the session-id mode's read-and-slide. */
export function failTouches(store: SessionStore, error: Error): () => void {
  return failStoreCalls(store, 'touch', error);
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
 * Counts the store's reads-and-slides, whichever way the guard reaches them.
 *
 * @returns how many there were since this call
 */
export function countTouches(store: SessionStore): () => number {
  const calls = recordStoreCalls(store, 'touch');
  return () => calls().length;
}
