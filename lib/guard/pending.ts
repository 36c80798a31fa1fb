// A step of the guard answers without a Promise when the store keeps its sessions in this
// process: these tell such an answer from a pending one without allocating.

/**
 * Whether a step's answer is still pending.
 *
 * @param value a step's answer: the value, or a Promise of it
 * @returns whether it is a Promise (anything with a `then` method)
 * @example
 * ```ts
 * return isPending(checked) ? checked.then(allowed) : true;
 * ```
 */
export function isPending<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown }).then === 'function';
}

/**
 * What `canActivate` resolves to once a pending check passed.
 *
 * @returns `true`
 * @example
 * ```ts
 * return checked.then(allowed);
 * ```
 */
export const allowed = (): boolean => true;
