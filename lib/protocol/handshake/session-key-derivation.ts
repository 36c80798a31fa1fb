import { createHash, createPublicKey, diffieHellman, hkdfSync, type KeyObject } from 'node:crypto';
import { HANDSHAKE_KEY_BYTES } from './handshake.constants.js';
import { HandshakeError } from './handshake.error.js';
import type { ParsedClientHello } from './handshake-hello.interface.js';
import { HandshakeMessages } from './handshake.messages.js';
import { keyScheduleBytes } from './transcript-encoding.js';

const KEY_LABEL = 'nestjs-mesh-session/v1/session-key';

/** What both sides feed the key derivation: each its own ephemeral key, and the transcript. */
export interface SessionKeyInput {
  /** This side's X25519 ephemeral private key. */
  ownPrivateKey: KeyObject;
  /** The other side's X25519 ephemeral public key, raw 32 bytes. */
  peerPublicKey: Buffer;
  /** The client hello, as signed. */
  client: ParsedClientHello;
  /** The server's X25519 ephemeral public key, raw 32 bytes. */
  serverEphemeralKey: Buffer;
  /** The server's nonce. */
  serverNonce: Buffer;
}

/**
 * Derives the 32-byte session key. Both sides call it with the same transcript:
 *
 *   HKDF-SHA256(ikm  = X25519(own ephemeral, peer ephemeral),
 *               salt = clientNonce || serverNonce,
 *               info = KEY_LABEL || SHA-256(client hello, client signature, server ephemeral,
 *                                           server nonce),
 *               32 bytes)
 *
 * Binding the transcript into `info` ties the key to this very exchange: a reply spliced from
 * another handshake derives a different key.
 *
 * @param input own ephemeral private key, the peer's ephemeral public key, and the transcript
 * @returns the session key; the caller wipes it once stored
 * @throws {HandshakeError} when the peer's key is invalid or of low order (X25519 gives an
 *   all-zero secret, which OpenSSL refuses)
 * @example
 * ```ts
 * const key = deriveSessionKey({
 *   ownPrivateKey: ephemeral.privateKey,
 *   peerPublicKey: reply.ephemeralKey,
 *   client: hello,
 *   serverEphemeralKey: reply.ephemeralKey,
 *   serverNonce: reply.nonce,
 * });
 * ```
 */
export function deriveSessionKey(input: SessionKeyInput): Buffer {
  const shared = sharedSecret(input.ownPrivateKey, input.peerPublicKey);
  const transcriptHash = createHash('sha256')
    .update(keyScheduleBytes(input.client, input.serverEphemeralKey, input.serverNonce))
    .digest();
  const key = Buffer.from(
    hkdfSync(
      'sha256',
      shared,
      Buffer.concat([input.client.nonce, input.serverNonce]),
      Buffer.concat([Buffer.from(KEY_LABEL, 'utf8'), transcriptHash]),
      HANDSHAKE_KEY_BYTES,
    ),
  );
  shared.fill(0);
  return key;
}

function sharedSecret(ownPrivateKey: KeyObject, peerPublicKey: Buffer): Buffer {
  let shared: Buffer;
  try {
    const peer = createPublicKey({
      key: { kty: 'OKP', crv: 'X25519', x: peerPublicKey.toString('base64url') },
      format: 'jwk',
    });
    shared = diffieHellman({ privateKey: ownPrivateKey, publicKey: peer });
  } catch {
    throw new HandshakeError(HandshakeMessages.handshakeEphemeralRejected());
  }
  // OpenSSL already refuses an all-zero secret; this keeps the guarantee explicit.
  if (shared.every((byte) => byte === 0)) {
    throw new HandshakeError(HandshakeMessages.handshakeZeroSecret());
  }
  return shared;
}
