import { MemorySessionStore } from '../../lib/index.js';
import type { SessionStore } from '../../lib/index.js';

/**
 * A store under test. `create` gives a fresh, empty store; `teardown` releases what the factory
 * started (servers, clients). Suites run `describe.each(storeFactories)` so every store passes
 * the same tests.
 */
export interface StoreFactory {
  name: string;
  create(): Promise<SessionStore>;
  teardown?(): Promise<void>;
}

export const storeFactories: StoreFactory[] = [
  {
    name: 'memory',
    create: async () => new MemorySessionStore(),
  },
];
