/*
 * The handshake, one round trip, mutual:
 *
 *   client -> server  ClientHello: clientId, serverId, X25519 ephemeral key, 32-byte nonce,
 *                     timestamp, clientVersion, Ed25519 signature over all of it
 *   server -> client  ServerHello: sessionId, X25519 ephemeral key, 32-byte nonce, expiresAt,
 *                     Ed25519 signature over the whole transcript
 *
 * Both sides then derive the same session key from the two ephemeral keys and the transcript
 * (`deriveSessionKey`).
 *
 * Each part lives in its own file beside this one:
 *   handshake-hello.interface  the message shapes
 *   hello-fields, hello-codec  strict parsing of both hellos
 *   transcript-encoding        the bytes each signature and the key schedule cover
 *   ephemeral-keys             X25519 key pairs and nonces, fresh for each handshake
 *   identity-signatures        Ed25519 signing and verification with pinned keys
 *   session-key-derivation     X25519 + HKDF-SHA256
 *   client-handshake           the client's half, from hello to session key
 */

/**
 * The client's half of the handshake, as sent (binary fields in base64url).
 *
 * @example
 * ```ts
 * const hello: ClientHello = {
 *   version: 1,
 *   clientId: 'caller',
 *   serverId: 'greeter',
 *   ephemeralKey: '...', // 43 characters
 *   nonce: '...', // 43 characters
 *   timestamp: Date.now(),
 *   clientVersion: 'nestjs-mesh-session/1.0.0',
 *   signature: '...', // 86 characters
 * };
 * ```
 */
export interface ClientHello {
  /** Protocol version: 1. */
  version: number;
  /** The calling service, as named in the server's `trustedServices`. */
  clientId: string;
  /** The service the client means to reach. */
  serverId: string;
  /** X25519 ephemeral public key, raw 32 bytes in base64url. */
  ephemeralKey: string;
  /** 32 random bytes in base64url. */
  nonce: string;
  /** Client clock (ms since the epoch). */
  timestamp: number;
  /** Software of the client, for the session's metadata; signed as `''` when absent. */
  clientVersion?: string;
  /** Ed25519 signature of the fields above, in base64url. */
  signature: string;
}

/**
 * The server's half of the handshake, as sent (binary fields in base64url).
 *
 * @example
 * ```ts
 * const reply = parseServerHello(JSON.parse(text)).hello; // a ServerHello
 * ```
 */
export interface ServerHello {
  /** Protocol version: 1. */
  version: number;
  /** The new session's id: the `keyid` of every signed request. */
  sessionId: string;
  /** X25519 ephemeral public key, raw 32 bytes in base64url. */
  ephemeralKey: string;
  /** 32 random bytes in base64url. */
  nonce: string;
  /** When the session expires unless used (ms since the epoch). */
  expiresAt: number;
  /** Ed25519 signature of the whole transcript, in base64url. */
  signature: string;
}

/**
 * A client hello after parsing: binary fields decoded, and the exact bytes its signature
 * covers, which the server's reply and the key schedule both bind.
 *
 * @example
 * ```ts
 * const client = parseClientHello(body);
 * verifyWithAnyKey(client.signedBytes, client.signature, pinnedKeys);
 * ```
 */
export interface ParsedClientHello {
  readonly hello: ClientHello;
  readonly ephemeralKey: Buffer;
  readonly nonce: Buffer;
  readonly signature: Buffer;
  /** The exact bytes the client signed. */
  readonly signedBytes: Buffer;
}

/**
 * A server hello after parsing: binary fields decoded.
 *
 * @example
 * ```ts
 * const reply = parseServerHello(JSON.parse(text));
 * reply.ephemeralKey.length; // 32
 * ```
 */
export interface ParsedServerHello {
  readonly hello: ServerHello;
  readonly ephemeralKey: Buffer;
  readonly nonce: Buffer;
  readonly signature: Buffer;
}
