/**
 * The bytes each request message was decoded from, for signature mode on gRPC. The key is the
 * decoded message object itself (what the handler and the guard receive), held weakly: the
 * entry goes with the message.
 */
const bytesOf = new WeakMap<object, Buffer>();

/**
 * Marks a request message whose bytes could not be decoded. It reaches the guard in place of
 * the message (the server would otherwise answer INTERNAL before any app code runs), and the
 * guard answers INVALID_ARGUMENT.
 */
const undecodable = new WeakSet<object>();

/**
 * Remembers the bytes a message was decoded from.
 *
 * @param message the decoded message
 * @param bytes the serialised message, as received
 */
export function rememberMessageBytes(message: unknown, bytes: Buffer): void {
  if (typeof message === 'object' && message !== null) bytesOf.set(message, bytes);
}

/**
 * The bytes a request message was decoded from, when it was decoded by a package definition
 * prepared with `withMessageBytes()`.
 *
 * @param message the message the handler received
 * @returns its serialised bytes, or `undefined` when they were not kept
 * @example
 * ```ts
 * const bytes = messageBytesOf(context.switchToRpc().getData());
 * ```
 */
export function messageBytesOf(message: unknown): Buffer | undefined {
  return typeof message === 'object' && message !== null ? bytesOf.get(message) : undefined;
}

/**
 * Builds the stand-in for a message that could not be decoded: an empty, frozen object.
 *
 * @returns the marked stand-in
 */
export function undecodableMessage(): object {
  const marker = Object.freeze({});
  undecodable.add(marker);
  return marker;
}

/**
 * Whether a message is the stand-in for bytes that could not be decoded.
 *
 * @param message the message the handler received
 * @returns `true` for the stand-in
 */
export function isUndecodableMessage(message: unknown): boolean {
  return typeof message === 'object' && message !== null && undecodable.has(message);
}
