import { SessionMessages } from './session.messages.js';
import type { SessionStore } from './session-store.js';

/**
 * Makes the store of a manager built from a timeout alone (`new SessionManager(ttl)`). The core
 * names no store: the package entry registers the memory store here.
 */
let defaultStore: (() => SessionStore) | undefined;

/**
 * Registers the store that `new SessionManager(sessionTimeout)` uses. Called once by the package
 * entry, which gives the memory store.
 *
 * @param factory makes a new store
 * @example
 * ```ts
 * useDefaultSessionStore(() => new MemorySessionStore());
 * ```
 */
export function useDefaultSessionStore(factory: () => SessionStore): void {
  defaultStore = factory;
}

/**
 * A new store from the registered factory.
 *
 * @returns the store
 * @throws {TypeError} when no default store is registered (the core was loaded without the
 *   package entry): pass a store to the manager instead
 */
export function createDefaultSessionStore(): SessionStore {
  if (defaultStore === undefined) {
    throw new TypeError(SessionMessages.invalidArgument('store', 'a SessionStore', undefined));
  }
  return defaultStore();
}
