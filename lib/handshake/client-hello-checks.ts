import type { KeyObject } from 'node:crypto';
import { HandshakeError } from '../protocol/handshake/handshake.error.js';
import type { ParsedClientHello } from '../protocol/handshake/handshake-hello.interface.js';
import { HandshakeMessages } from '../protocol/handshake/handshake.messages.js';
import { verifyWithAnyKey } from '../protocol/handshake/identity-signatures.js';
import type { HandshakeEndpointOptions } from './handshake-endpoint.options.js';

/**
 * The checks of a client hello that need no store, in order: its signature against the pinned
 * keys of the service it claims, that this service is the target, and its timestamp against
 * `maxClockSkew`. Whether its nonce is new is the store's to say, afterwards.
 *
 * @param client the parsed hello
 * @param handshake this service's id, the pinned identities and the clock skew
 * @param decoyKey checked against when the claimed service is unknown: this service's own
 *   public key
 * @param now the current time (ms)
 * @throws {HandshakeError} naming the failed check, for the log and the audit event
 * @example
 * ```ts
 * checkClientHello(client, handshake, decoyKey, Date.now());
 * ```
 */
export function checkClientHello(
  client: ParsedClientHello,
  handshake: Pick<HandshakeEndpointOptions, 'serviceId' | 'trustedServices' | 'maxClockSkew'>,
  decoyKey: KeyObject,
  now: number,
): void {
  const { clientId, serverId, timestamp } = client.hello;
  const keys = handshake.trustedServices.get(clientId);
  if (keys === undefined) {
    // The same work as for a known service, so that timing does not tell which ids are pinned.
    verifyWithAnyKey(client.signedBytes, client.signature, [decoyKey]);
    throw new HandshakeError(HandshakeMessages.handshakeUnknownService());
  }
  if (!verifyWithAnyKey(client.signedBytes, client.signature, keys)) {
    throw new HandshakeError(HandshakeMessages.handshakeBadSignature());
  }
  if (serverId !== handshake.serviceId) {
    throw new HandshakeError(HandshakeMessages.handshakeWrongTarget(serverId));
  }
  if (Math.abs(now - timestamp) > handshake.maxClockSkew) {
    throw new HandshakeError(HandshakeMessages.handshakeClockSkew(now - timestamp));
  }
}
