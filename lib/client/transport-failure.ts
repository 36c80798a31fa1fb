import { MeshClientMessages } from './mesh-client.messages.js';

/**
 * Why an HTTP exchange got no answer: the client's deadline passed, or the connection failed.
 *
 * @example
 * ```ts
 * const { reason, text } = transportFailure(error, 5_000); // 'timeout', 'no answer within 5000 ms'
 * ```
 */
export interface TransportFailure {
  /** The kind, as `MeshHandshakeError.reason` and `MeshRequestError.reason` name it. */
  readonly reason: 'timeout' | 'network';
  /** The reason in words, for the error's message. */
  readonly text: string;
}

/**
 * Classifies what `fetch` threw.
 *
 * @param error what `fetch` (or reading the body) threw
 * @param timeout the client's deadline (ms), for the message
 * @returns the failure's kind and words
 * @example
 * ```ts
 * transportFailure(new DOMException('', 'TimeoutError'), 50).reason; // 'timeout'
 * ```
 */
export function transportFailure(error: unknown, timeout: number): TransportFailure {
  // A DOMException; duck-typed, as it may come from another realm.
  const name = (error as { name?: unknown } | null)?.name;
  return name === 'TimeoutError' || name === 'AbortError'
    ? { reason: 'timeout', text: MeshClientMessages.clientTimeout(timeout) }
    : { reason: 'network', text: MeshClientMessages.clientUnreachable() };
}
