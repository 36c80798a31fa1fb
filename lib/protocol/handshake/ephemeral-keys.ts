import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { HANDSHAKE_KEY_BYTES } from './handshake.constants.js';

/**
 * An X25519 key pair that lives for one handshake: each session key comes from fresh
 * ephemeral keys, so that a stolen identity key does not reveal past sessions.
 *
 * @example
 * ```ts
 * const ephemeral = createEphemeralKeyPair();
 * ephemeral.publicKey.length; // 32
 * ```
 */
export interface EphemeralKeyPair {
  readonly privateKey: KeyObject;
  /** Raw 32-byte public key. */
  readonly publicKey: Buffer;
}

/**
 * Creates a new X25519 ephemeral key pair.
 *
 * @returns the private key, and the public key as its raw 32 bytes
 * @example
 * ```ts
 * const ephemeral = createEphemeralKeyPair();
 * ```
 */
export function createEphemeralKeyPair(): EphemeralKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('x25519');
  const jwk = publicKey.export({ format: 'jwk' });
  return { privateKey, publicKey: Buffer.from(jwk.x as string, 'base64url') };
}

/**
 * 32 random bytes: a handshake nonce.
 *
 * @returns the nonce
 * @example
 * ```ts
 * const serverNonce = createHandshakeNonce();
 * ```
 */
export function createHandshakeNonce(): Buffer {
  return randomBytes(HANDSHAKE_KEY_BYTES);
}
