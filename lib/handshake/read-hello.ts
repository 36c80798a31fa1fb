import { HandshakeError } from '../protocol/handshake/handshake.error.js';
import type { ParsedClientHello } from '../protocol/handshake/handshake-hello.interface.js';
import { HandshakeMessages } from '../protocol/handshake/handshake.messages.js';
import { parseClientHello } from '../protocol/handshake/hello-codec.js';

/**
 * The client hello as the endpoint received it, parsed strictly; no signature is checked yet.
 *
 * @param message the hello's JSON text, its parsed value, or why the body could not be read
 * @returns the parsed hello, or why it is not one (never thrown: the caller applies its limits
 *   first)
 * @example
 * ```ts
 * const hello = readHello(body);
 * if (hello instanceof HandshakeError) ...
 * ```
 */
export function readHello(
  message: string | object | HandshakeError,
): ParsedClientHello | HandshakeError {
  if (message instanceof HandshakeError) return message;
  let value: unknown = message;
  if (typeof message === 'string') {
    try {
      value = JSON.parse(message);
    } catch {
      return new HandshakeError(HandshakeMessages.handshakeNotJson());
    }
  }
  try {
    return parseClientHello(value);
  } catch (error) {
    if (error instanceof HandshakeError) return error;
    throw error;
  }
}
