import type { ClientHello, ParsedClientHello } from './handshake-hello.interface.js';

/*
 * Signed data is a sequence of length-prefixed fields that starts with a label naming the
 * message, so that no signature can be replayed as another kind of message and no field can
 * bleed into its neighbour.
 */

const CLIENT_HELLO_LABEL = 'nestjs-mesh-session/v1/client-hello';
const SERVER_HELLO_LABEL = 'nestjs-mesh-session/v1/server-hello';
const KEY_SCHEDULE_LABEL = 'nestjs-mesh-session/v1/key-schedule';

/** The server's fields of a reply, decoded: what its signature covers beside the client hello. */
export interface ServerReplyFields {
  sessionId: string;
  ephemeralKey: Buffer;
  nonce: Buffer;
  expiresAt: number;
}

/**
 * Encodes fields for signing: each field is its length (4 bytes, big-endian) then its bytes.
 * Strings are UTF-8; numbers are 8-byte big-endian unsigned integers.
 *
 * @param fields the fields, in order
 * @returns the encoding
 * @throws {RangeError} when a number is negative or above 2^64 - 1
 * @example
 * ```ts
 * encodeFields(['a', 1]); // 00000001 61 00000008 0000000000000001
 * ```
 */
export function encodeFields(fields: readonly (string | Buffer | number)[]): Buffer {
  const parts: Buffer[] = [];
  for (const field of fields) {
    let bytes: Buffer;
    if (typeof field === 'number') {
      bytes = Buffer.alloc(8);
      bytes.writeBigUInt64BE(BigInt(field));
    } else {
      bytes = typeof field === 'string' ? Buffer.from(field, 'utf8') : field;
    }
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    parts.push(length, bytes);
  }
  return Buffer.concat(parts);
}

/**
 * The bytes a client signs for its hello.
 *
 * @param hello the hello, without its signature
 * @param ephemeralKey the decoded ephemeral key
 * @param nonce the decoded nonce
 * @returns the signed bytes
 * @example
 * ```ts
 * const signedBytes = clientHelloBytes(unsigned, ephemeral.publicKey, nonce);
 * ```
 */
export function clientHelloBytes(
  hello: Omit<ClientHello, 'signature'>,
  ephemeralKey: Buffer,
  nonce: Buffer,
): Buffer {
  return encodeFields([
    CLIENT_HELLO_LABEL,
    hello.version,
    hello.clientId,
    hello.serverId,
    ephemeralKey,
    nonce,
    hello.timestamp,
    hello.clientVersion ?? '',
  ]);
}

/**
 * The bytes a server signs for its reply: the whole transcript, so that the reply cannot be
 * spliced onto another client's hello.
 *
 * @param client the client hello as received
 * @param reply the server's fields
 * @returns the signed bytes
 * @example
 * ```ts
 * const signature = signWithIdentity(serverHelloBytes(client, reply), privateKey);
 * ```
 */
export function serverHelloBytes(client: ParsedClientHello, reply: ServerReplyFields): Buffer {
  return encodeFields([
    SERVER_HELLO_LABEL,
    client.signedBytes,
    client.signature,
    reply.sessionId,
    reply.ephemeralKey,
    reply.nonce,
    reply.expiresAt,
  ]);
}

/**
 * The transcript the session key is bound to: the signed client hello and the server's
 * ephemeral key and nonce. Its hash goes into the key derivation's `info`.
 *
 * @param client the client hello
 * @param serverEphemeralKey the server's X25519 public key
 * @param serverNonce the server's nonce
 * @returns the encoded transcript
 * @example
 * ```ts
 * createHash('sha256').update(keyScheduleBytes(client, serverKey, serverNonce)).digest();
 * ```
 */
export function keyScheduleBytes(
  client: ParsedClientHello,
  serverEphemeralKey: Buffer,
  serverNonce: Buffer,
): Buffer {
  return encodeFields([
    KEY_SCHEDULE_LABEL,
    client.signedBytes,
    client.signature,
    serverEphemeralKey,
    serverNonce,
  ]);
}
