import type { KeyObject } from 'node:crypto';
import {
  createEphemeralKeyPair,
  createHandshakeNonce,
  type EphemeralKeyPair,
} from './ephemeral-keys.js';
import { HANDSHAKE_PROTOCOL_VERSION } from './handshake.constants.js';
import { HandshakeError } from './handshake.error.js';
import type { ClientHello, ParsedClientHello } from './handshake-hello.interface.js';
import { HandshakeMessages } from './handshake.messages.js';
import { parseServerHello } from './hello-codec.js';
import { signWithIdentity, verifyWithAnyKey } from './identity-signatures.js';
import { deriveSessionKey } from './session-key-derivation.js';
import { clientHelloBytes, serverHelloBytes } from './transcript-encoding.js';

/** What {@link createClientHello} needs: who calls whom, with which keys. */
export interface ClientHelloInput {
  /** The calling service, as the server names it in `trustedServices`. */
  clientId: string;
  /** The service to reach. */
  serverId: string;
  /** The client's Ed25519 private key: a `KeyObject`, or PEM. */
  identityKey: KeyObject | string;
  /** A fresh key pair for this handshake. */
  ephemeral: EphemeralKeyPair;
  /**
   * The hello's nonce.
   *
   * @default 32 fresh random bytes
   */
  nonce?: Buffer;
  /**
   * The client's clock (ms since the epoch).
   *
   * @default Date.now()
   */
  timestamp?: number;
  /** Software of the client, for the session's metadata. */
  clientVersion?: string;
}

/** A session the client opened: its id, its key and when it expires unless used. */
export interface ClientSession {
  /** The session's id: the `keyid` of every signed request. */
  readonly sessionId: string;
  /** The 32-byte session key; its holder wipes it once the session ends. */
  readonly key: Buffer;
  /** When the session expires unless used, as the server said (ms since the epoch). */
  readonly expiresAt: number;
}

/**
 * Builds and signs a client hello.
 *
 * @param input who calls whom, with the client's identity key and a fresh ephemeral key pair
 * @returns the message to send, and its parsed form for the rest of the handshake
 * @example
 * ```ts
 * const hello = createClientHello({
 *   clientId: 'caller',
 *   serverId: 'greeter',
 *   identityKey: privateKey,
 *   ephemeral: createEphemeralKeyPair(),
 * });
 * await fetch(url, { method: 'POST', body: JSON.stringify(hello.hello) });
 * ```
 */
export function createClientHello(input: ClientHelloInput): ParsedClientHello {
  const nonce = input.nonce ?? createHandshakeNonce();
  const unsigned: Omit<ClientHello, 'signature'> = {
    version: HANDSHAKE_PROTOCOL_VERSION,
    clientId: input.clientId,
    serverId: input.serverId,
    ephemeralKey: input.ephemeral.publicKey.toString('base64url'),
    nonce: nonce.toString('base64url'),
    timestamp: input.timestamp ?? Date.now(),
    ...(input.clientVersion === undefined ? {} : { clientVersion: input.clientVersion }),
  };
  const signedBytes = clientHelloBytes(unsigned, input.ephemeral.publicKey, nonce);
  const signature = signWithIdentity(signedBytes, input.identityKey);
  return {
    hello: { ...unsigned, signature: signature.toString('base64url') },
    ephemeralKey: input.ephemeral.publicKey,
    nonce,
    signature,
    signedBytes,
  };
}

/**
 * The client's half of one handshake, whatever carries it: a signed hello to send, then the
 * server's reply checked against the server's pinned keys and turned into a session key. The
 * ephemeral private key never leaves this object.
 *
 * @example
 * ```ts
 * const handshake = new ClientHandshake({ clientId: 'caller', serverId: 'greeter', identityKey });
 * const res = await fetch(url, { method: 'POST', body: handshake.body() });
 * const session = handshake.complete(await res.text(), greeterPublicKeys);
 * ```
 */
export class ClientHandshake {
  /** The signed hello, and the bytes its signature covers. */
  readonly hello: ParsedClientHello;
  readonly #ephemeral: EphemeralKeyPair;

  /**
   * Creates a fresh ephemeral key pair and signs the hello.
   *
   * @param input who calls whom, with the client's identity key
   */
  constructor(input: Omit<ClientHelloInput, 'ephemeral' | 'nonce' | 'timestamp'>) {
    this.#ephemeral = createEphemeralKeyPair();
    this.hello = createClientHello({ ...input, ephemeral: this.#ephemeral });
  }

  /**
   * The hello as the request body.
   *
   * @returns the hello, as JSON
   */
  body(): string {
    return JSON.stringify(this.hello.hello);
  }

  /**
   * Checks the server's reply: its shape, then its signature over the whole transcript against
   * the server's pinned keys, and only then derives the session key from it.
   *
   * @param reply the body of the server's answer
   * @param serverKeys the server's pinned Ed25519 public keys
   * @returns the new session
   * @throws {HandshakeError} when the reply is not JSON, not a server hello, not signed by a
   *   pinned key, or carries an unusable ephemeral key
   */
  complete(reply: string, serverKeys: readonly KeyObject[]): ClientSession {
    const server = parseServerHello(parseReply(reply));
    const signed = serverHelloBytes(this.hello, {
      sessionId: server.hello.sessionId,
      ephemeralKey: server.ephemeralKey,
      nonce: server.nonce,
      expiresAt: server.hello.expiresAt,
    });
    if (!verifyWithAnyKey(signed, server.signature, serverKeys)) {
      throw new HandshakeError(HandshakeMessages.handshakeReplySignature());
    }
    const key = deriveSessionKey({
      ownPrivateKey: this.#ephemeral.privateKey,
      peerPublicKey: server.ephemeralKey,
      client: this.hello,
      serverEphemeralKey: server.ephemeralKey,
      serverNonce: server.nonce,
    });
    return { sessionId: server.hello.sessionId, key, expiresAt: server.hello.expiresAt };
  }
}

function parseReply(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new HandshakeError(HandshakeMessages.handshakeReplyNotJson());
  }
}
