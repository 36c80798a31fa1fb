import { inspect } from 'node:util';

/**
 * Facts about an object that holds key material, safe to print: counts, names, settings. Facts
 * set to `undefined` are left out.
 */
export type RedactedFacts = Readonly<
  Record<string, string | number | boolean | readonly string[] | undefined>
>;

/**
 * What `util.inspect` (and so `console.log` and Nest's `Logger`) shows of an object that holds
 * key material: its class name and harmless facts, never its fields.
 *
 * @param name the class name
 * @param facts what may be shown
 * @returns such as `MemorySessionStore { sessions: 3 }`
 * @example
 * ```ts
 * [inspect.custom](): string {
 *   return redactedInspect(this.constructor.name, { sessions: this.#ids.size });
 * }
 * ```
 */
export function redactedInspect(name: string, facts: RedactedFacts = {}): string {
  const shown = definedFacts(facts);
  return Object.keys(shown).length === 0
    ? `${name} {}`
    : `${name} ${inspect(shown, { breakLength: Infinity, depth: 1 })}`;
}

/**
 * What `toJSON()` (and so `JSON.stringify`) gives of an object that holds key material: its
 * class name as `type`, and harmless facts.
 *
 * @param name the class name
 * @param facts what may be shown
 * @returns such as `{ type: 'MemorySessionStore', sessions: 3 }`
 * @example
 * ```ts
 * toJSON(): Record<string, unknown> {
 *   return redactedJSON(this.constructor.name, { sessions: this.#ids.size });
 * }
 * ```
 */
export function redactedJSON(name: string, facts: RedactedFacts = {}): Record<string, unknown> {
  return { type: name, ...definedFacts(facts) };
}

function definedFacts(facts: RedactedFacts): Record<string, unknown> {
  const shown: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(facts)) if (value !== undefined) shown[key] = value;
  return shown;
}

/**
 * Gives a class that holds key material its redacted dump forms: `[util.inspect.custom]`
 * (and so `console.log` and Nest's `Logger`) shows `redactedInspect`, and `toJSON` (and so
 * `JSON.stringify`) gives `redactedJSON`, both from the facts of the instance. Call it in the
 * class's static block, where the facts may read `#private` fields.
 *
 * @param target the class
 * @param facts what may be shown of an instance
 * @example
 * ```ts
 * class Vault {
 *   #keys = new Map<string, Buffer>();
 *   static {
 *     redactDumps(this, (vault) => ({ keys: vault.#keys.size }));
 *   }
 * }
 * ```
 */
export function redactDumps<T extends object>(
  target: { prototype: T },
  facts: (instance: T) => RedactedFacts = () => ({}),
): void {
  Object.defineProperties(target.prototype, {
    [inspect.custom]: {
      value(this: T): string {
        return redactedInspect(this.constructor.name, facts(this));
      },
      configurable: true,
      writable: true,
    },
    toJSON: {
      value(this: T): Record<string, unknown> {
        return redactedJSON(this.constructor.name, facts(this));
      },
      configurable: true,
      writable: true,
    },
  });
}
