import type { KeyObject } from 'node:crypto';
import type { Session } from '../core/session.interface.js';
import { HANDSHAKE_PROTOCOL_VERSION } from '../protocol/handshake/handshake.constants.js';
import {
  createEphemeralKeyPair,
  createHandshakeNonce,
  type EphemeralKeyPair,
} from '../protocol/handshake/ephemeral-keys.js';
import type {
  ParsedClientHello,
  ServerHello,
} from '../protocol/handshake/handshake-hello.interface.js';
import { signWithIdentity } from '../protocol/handshake/identity-signatures.js';
import { deriveSessionKey } from '../protocol/handshake/session-key-derivation.js';
import { serverHelloBytes } from '../protocol/handshake/transcript-encoding.js';

/** The server's half of one handshake's key exchange, fresh for each hello. */
export interface ServerKeyExchange {
  /** The server's X25519 ephemeral key pair. */
  readonly ephemeral: EphemeralKeyPair;
  /** The server's nonce. */
  readonly nonce: Buffer;
  /** The derived session key: the caller wipes it once the session holds its own copy. */
  readonly key: Buffer;
}

/**
 * Derives the session key of a verified hello (X25519 + HKDF-SHA256) from a fresh ephemeral
 * key pair and nonce.
 *
 * @param client the verified client hello
 * @returns the server's ephemeral key pair and nonce, and the session key
 * @throws {HandshakeError} when the client's ephemeral key is invalid or of low order
 * @example
 * ```ts
 * const exchange = serverKeyExchange(client);
 * try { ... } finally { exchange.key.fill(0); }
 * ```
 */
export function serverKeyExchange(client: ParsedClientHello): ServerKeyExchange {
  const ephemeral = createEphemeralKeyPair();
  const nonce = createHandshakeNonce();
  const key = deriveSessionKey({
    ownPrivateKey: ephemeral.privateKey,
    peerPublicKey: client.ephemeralKey,
    client,
    serverEphemeralKey: ephemeral.publicKey,
    serverNonce: nonce,
  });
  return { ephemeral, nonce, key };
}

/**
 * The server hello for a new session, its signature covering the whole transcript.
 *
 * @param client the verified client hello
 * @param exchange the server's half of the key exchange
 * @param session the session opened for the client
 * @param identityKey this service's Ed25519 private key
 * @returns the reply, binary fields in base64url
 * @example
 * ```ts
 * return signedServerHello(client, exchange, session, handshake.privateKey);
 * ```
 */
export function signedServerHello(
  client: ParsedClientHello,
  exchange: ServerKeyExchange,
  session: Session,
  identityKey: KeyObject,
): ServerHello {
  const reply = {
    sessionId: session.id,
    ephemeralKey: exchange.ephemeral.publicKey,
    nonce: exchange.nonce,
    expiresAt: session.expiresAt,
  };
  const signature = signWithIdentity(serverHelloBytes(client, reply), identityKey);
  return {
    version: HANDSHAKE_PROTOCOL_VERSION,
    sessionId: session.id,
    ephemeralKey: exchange.ephemeral.publicKey.toString('base64url'),
    nonce: exchange.nonce.toString('base64url'),
    expiresAt: session.expiresAt,
    signature: signature.toString('base64url'),
  };
}
