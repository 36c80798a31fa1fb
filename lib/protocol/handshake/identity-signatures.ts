import { sign, verify, type KeyObject } from 'node:crypto';

/**
 * Signs with an Ed25519 identity key.
 *
 * @param data the bytes to sign
 * @param identityKey the private key: a `KeyObject`, or PEM
 * @returns the 64-byte signature
 * @example
 * ```ts
 * const signature = signWithIdentity(serverHelloBytes(client, reply), privateKey);
 * ```
 */
export function signWithIdentity(data: Buffer, identityKey: KeyObject | string): Buffer {
  return sign(null, data, identityKey);
}

/**
 * Verifies an Ed25519 signature against any of the pinned keys of a service, so that a key can
 * be rotated by pinning the old and the new key for a while.
 *
 * @param data the signed bytes
 * @param signature the signature
 * @param keys the pinned public keys
 * @returns whether one of the keys verifies it
 * @example
 * ```ts
 * if (!verifyWithAnyKey(client.signedBytes, client.signature, pinnedKeys)) refuse();
 * ```
 */
export function verifyWithAnyKey(
  data: Buffer,
  signature: Buffer,
  keys: readonly KeyObject[],
): boolean {
  for (const key of keys) {
    if (verify(null, data, key, signature)) return true;
  }
  return false;
}
