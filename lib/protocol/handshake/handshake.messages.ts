/**
 * Why a handshake failed: logged and audited on the server, carried by `MeshHandshakeError` on
 * the client; never sent to a caller, who gets the generic 401, so that a probe learns nothing
 * about which check it failed.
 *
 * @example
 * ```ts
 * throw new HandshakeError(HandshakeMessages.handshakeVersion());
 * ```
 */
export const HandshakeMessages = {
  /** The body is larger than the bound. */
  handshakeBodyTooLarge: (limit: number): string => `body larger than ${limit} bytes`,
  /** The request carries no body the endpoint can read. */
  handshakeNoBody: (): string => 'no readable body',
  /** The body stream failed. */
  handshakeBodyUnreadable: (): string => 'body could not be read',
  /** The body is not JSON. */
  handshakeNotJson: (): string => 'body is not valid JSON',
  /** The claimed service is not in `trustedServices`. */
  handshakeUnknownService: (): string => 'unknown service',
  /** The hello's signature matches none of the claimed service's pinned keys. */
  handshakeBadSignature: (): string =>
    'signature does not verify against the pinned keys of the service',
  /** The hello is meant for another service. */
  handshakeWrongTarget: (serverId: string): string =>
    `wrong target service ${JSON.stringify(serverId)}`,
  /** The hello's timestamp is too far from this server's clock. */
  handshakeClockSkew: (offMs: number): string => `timestamp ${offMs} ms off, beyond maxClockSkew`,
  /** The hello's nonce was seen inside the window. */
  handshakeReplayed: (): string => 'replayed handshake (nonce already seen)',
  /** The message's `version` is not one this library speaks. */
  handshakeVersion: (): string => 'unsupported protocol version',
  /** The hello's `clientVersion` is too long or not printable. */
  handshakeClientVersion: (max: number): string =>
    `clientVersion is not printable ASCII of at most ${max} characters`,
  /** The server hello's `sessionId` is not a UUID. */
  handshakeSessionId: (): string => 'sessionId is not a UUID',
  /** X25519 refused the peer's ephemeral key. */
  handshakeEphemeralRejected: (): string =>
    'ephemeral key rejected by X25519 (invalid or low-order point)',
  /** The peer's ephemeral key gives an all-zero shared secret. */
  handshakeZeroSecret: (): string => 'ephemeral key gives an all-zero X25519 secret',
  /** A handshake message is not a JSON object. */
  handshakeNotObject: (what: string): string => `${what} is not a JSON object`,
  /** A handshake message has a field the protocol does not define. */
  handshakeUnexpectedField: (what: string): string => `${what} has an unexpected field`,
  /** A handshake message lacks a required field. */
  handshakeMissingField: (what: string, field: string): string => `${what} lacks ${field}`,
  /** A service id field is empty, too long or not printable. */
  handshakeServiceIdField: (field: string, max: number): string =>
    `${field} is not printable ASCII of 1 to ${max} characters`,
  /** A binary field is not canonical base64url of the right size. */
  handshakeBase64Field: (field: string, bytes: number): string =>
    `${field} is not ${bytes} bytes of base64url`,
  /** A time field is not a non-negative integer. */
  handshakeTimeField: (field: string): string => `${field} is not a time in ms`,
  /** Client side: the server's reply is not JSON. */
  handshakeReplyNotJson: (): string => 'the reply is not JSON',
  /** Client side: the server's reply is not signed by its pinned key. */
  handshakeReplySignature: (): string =>
    'the reply signature does not verify against the pinned key',
} as const;
