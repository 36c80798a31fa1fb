import { Logger } from '@nestjs/common';
import { SessionStore } from '../core/session-store.js';
import { TestingMessages } from './testing.messages.js';

/**
 * What {@link overrideSessionStore} needs of a `TestingModuleBuilder`. It is structural, so the
 * kit does not load `@nestjs/testing`: `Test.createTestingModule(...)` fits.
 *
 * @example
 * ```ts
 * const builder: ProviderOverrides<TestingModuleBuilder> = Test.createTestingModule({ imports });
 * ```
 */
export interface ProviderOverrides<B> {
  overrideProvider(token: typeof SessionStore): { useValue(value: SessionStore): B };
}

/**
 * Puts `store` in place of the store `MeshSessionModule` would use, whatever its options say,
 * so that a test can seed sessions, inspect them, or simulate an outage.
 *
 * The module provides its store under the abstract `SessionStore` class, and that is the token
 * this overrides: `overrideProvider(MemorySessionStore)` or `overrideProvider(RedisSessionStore)`
 * matches no provider and silently does nothing. Like the module, it gives the store Nest's
 * `Logger` unless the store already has a logger. The app closes the store at shutdown
 * (`app.close()`), as it would its own.
 *
 * @param builder the testing module builder, from `Test.createTestingModule()`
 * @param store the store to use
 * @returns the builder, to chain `.compile()`
 * @throws {TypeError} when `store` is not a `SessionStore`
 * @example
 * ```ts
 * import { MemorySessionStore } from 'nestjs-mesh-session';
 * import { overrideSessionStore } from 'nestjs-mesh-session/testing';
 *
 * const store = new MemorySessionStore();
 * const moduleRef = await overrideSessionStore(
 *   Test.createTestingModule({ imports: [AppModule] }),
 *   store,
 * ).compile();
 * // The same without the kit: .overrideProvider(SessionStore).useValue(store)
 * ```
 */
export function overrideSessionStore<B extends ProviderOverrides<B>>(
  builder: B,
  store: SessionStore,
): B {
  if (!(store instanceof SessionStore)) throw new TypeError(TestingMessages.storeNeeded(store));
  store.useLogger(new Logger(store.constructor.name), false);
  return builder.overrideProvider(SessionStore).useValue(store);
}
