import { createPrivateKey, createPublicKey, generateKeyPairSync, KeyObject } from 'node:crypto';

/**
 * A PEM string, or a `KeyObject` already loaded with `node:crypto`.
 */
export type IdentityKeyInput = string | KeyObject;

/**
 * A new Ed25519 identity key pair, in PEM form (PKCS#8 private key, SPKI public key).
 */
export interface IdentityKeyPair {
  /** Secret: only the service it belongs to holds it. */
  privateKey: string;
  /** Public: pinned by every peer, in `trustedServices` or `services[id].publicKey`. */
  publicKey: string;
}

/**
 * Creates a new Ed25519 identity key pair for a service. This is what the `keygen` command
 * prints; a test or a sample can call it directly.
 *
 * @returns the key pair in PEM form
 * @example
 * ```ts
 * const { privateKey, publicKey } = generateIdentityKeyPair();
 * ```
 */
export function generateIdentityKeyPair(): IdentityKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privateKey: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    publicKey: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
  };
}

/**
 * Loads an Ed25519 private identity key.
 *
 * @param input a PEM string (PKCS#8) or a private `KeyObject`
 * @returns the key, or `undefined` when `input` is not an Ed25519 private key
 * @example
 * ```ts
 * const key = loadPrivateIdentityKey(process.env.MESH_PRIVATE_KEY) ?? fail('privateKey');
 * ```
 */
export function loadPrivateIdentityKey(input: unknown): KeyObject | undefined {
  try {
    const key =
      input instanceof KeyObject
        ? input
        : typeof input === 'string'
          ? createPrivateKey({ key: input, format: 'pem' })
          : undefined;
    return key?.type === 'private' && key.asymmetricKeyType === 'ed25519' ? key : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Loads an Ed25519 public identity key. A private key is refused, so that a secret pasted in
 * the wrong place fails at startup instead of being spread to peers.
 *
 * @param input a PEM string (SPKI) or a public `KeyObject`
 * @returns the key, or `undefined` when `input` is not an Ed25519 public key
 * @example
 * ```ts
 * loadPublicIdentityKey(generateIdentityKeyPair().privateKey); // undefined: a secret
 * ```
 */
export function loadPublicIdentityKey(input: unknown): KeyObject | undefined {
  try {
    if (typeof input === 'string' && input.includes('PRIVATE KEY')) return undefined;
    const key =
      input instanceof KeyObject
        ? input
        : typeof input === 'string'
          ? createPublicKey({ key: input, format: 'pem' })
          : undefined;
    return key?.type === 'public' && key.asymmetricKeyType === 'ed25519' ? key : undefined;
  } catch {
    return undefined;
  }
}
