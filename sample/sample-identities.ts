import { generateIdentityKeyPair } from 'nestjs-mesh-session';

/**
 * The sample's Ed25519 identity keys, made at startup so that the sample runs with no setup.
 * In production each service holds only its own private key (from a secret store) and pins its
 * peers' public keys in configuration; `npx nestjs-mesh-session keygen <service-id>` prints a
 * key pair.
 */
export const sampleIdentities = {
  greeter: generateIdentityKeyPair(),
  caller: generateIdentityKeyPair(),
};
