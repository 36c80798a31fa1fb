/**
 * Describes a rejected value without echoing it in full: a bad value may be a secret (a key
 * passed in the wrong argument), so only its type and size are shown.
 *
 * @param value any value an option or argument was given
 * @returns a short description, such as `a string of 12 characters`
 * @example
 * ```ts
 * describeValue(Buffer.alloc(16)); // 'a Buffer of 16 bytes'
 * ```
 */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Buffer.isBuffer(value)) return `a Buffer of ${value.length} bytes`;
  if (typeof value === 'string') return `a string of ${value.length} characters`;
  if (typeof value === 'number') return String(value);
  if (typeof value === 'boolean' || value === undefined) return String(value);
  if (Array.isArray(value)) return 'an array';
  return `a value of type ${typeof value === 'object' ? (value.constructor?.name ?? 'object') : typeof value}`;
}
