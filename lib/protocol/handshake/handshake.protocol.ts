import {
  createHash,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  randomBytes,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import { MAX_SERVICE_ID_LENGTH } from '../../core/session.constants.js';
import { HandshakeMessages } from './handshake.messages.js';
import { isSessionId } from '../../core/session-id.js';
import {
  ED25519_SIGNATURE_BYTES,
  HANDSHAKE_KEY_BYTES,
  HANDSHAKE_PROTOCOL_VERSION,
  MAX_CLIENT_VERSION_LENGTH,
} from './handshake.constants.js';
import { HandshakeError } from './handshake.error.js';

/*
 * The handshake, one round trip, mutual:
 *
 *   client -> server  ClientHello: clientId, serverId, X25519 ephemeral key, 32-byte nonce,
 *                     timestamp, clientVersion, Ed25519 signature over all of it
 *   server -> client  ServerHello: sessionId, X25519 ephemeral key, 32-byte nonce, expiresAt,
 *                     Ed25519 signature over the whole transcript
 *
 * Both sides derive the session key as
 *   HKDF-SHA256(ikm  = X25519(own ephemeral, peer ephemeral),
 *               salt = clientNonce || serverNonce,
 *               info = KEY_LABEL || SHA-256(client hello, client signature, server ephemeral,
 *                                           server nonce),
 *               32 bytes)
 *
 * Signed data is a sequence of length-prefixed fields that starts with a label naming the
 * message, so that no signature can be replayed as another kind of message and no field can
 * bleed into its neighbour.
 */

const CLIENT_HELLO_LABEL = 'nestjs-mesh-session/v1/client-hello';
const SERVER_HELLO_LABEL = 'nestjs-mesh-session/v1/server-hello';
const KEY_SCHEDULE_LABEL = 'nestjs-mesh-session/v1/key-schedule';
const KEY_LABEL = 'nestjs-mesh-session/v1/session-key';

const CLIENT_HELLO_FIELDS = new Set([
  'version',
  'clientId',
  'serverId',
  'ephemeralKey',
  'nonce',
  'timestamp',
  'clientVersion',
  'signature',
]);
const SERVER_HELLO_FIELDS = new Set([
  'version',
  'sessionId',
  'ephemeralKey',
  'nonce',
  'expiresAt',
  'signature',
]);
// Printable ASCII only: ids and versions end up in logs and audit events.
const PRINTABLE = /^[\x20-\x7e]+$/;

/** The client's half of the handshake, as sent (binary fields in base64url). */
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
  /** Software of the client, for the session's metadata. */
  clientVersion?: string;
  /** Ed25519 signature of the fields above, in base64url. */
  signature: string;
}

/** The server's half of the handshake, as sent (binary fields in base64url). */
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

/** A client hello after parsing: binary fields decoded. */
export interface ParsedClientHello {
  readonly hello: ClientHello;
  readonly ephemeralKey: Buffer;
  readonly nonce: Buffer;
  readonly signature: Buffer;
  /** The exact bytes the client signed. */
  readonly signedBytes: Buffer;
}

/** A server hello after parsing: binary fields decoded. */
export interface ParsedServerHello {
  readonly hello: ServerHello;
  readonly ephemeralKey: Buffer;
  readonly nonce: Buffer;
  readonly signature: Buffer;
}

/** An X25519 key pair that lives for one handshake. */
export interface EphemeralKeyPair {
  readonly privateKey: KeyObject;
  /** Raw 32-byte public key. */
  readonly publicKey: Buffer;
}

/**
 * Creates a new X25519 ephemeral key pair.
 */
export function createEphemeralKeyPair(): EphemeralKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('x25519');
  const jwk = publicKey.export({ format: 'jwk' });
  return { privateKey, publicKey: Buffer.from(jwk.x as string, 'base64url') };
}

/** 32 random bytes: a handshake nonce. */
export function createHandshakeNonce(): Buffer {
  return randomBytes(HANDSHAKE_KEY_BYTES);
}

/**
 * Encodes fields for signing: each field is its length (4 bytes, big-endian) then its bytes.
 * Strings are UTF-8; numbers are 8-byte big-endian unsigned integers.
 *
 * @param fields the fields, in order
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
 * The bytes a server signs for its reply: the whole transcript.
 *
 * @param client the client hello as received
 * @param reply the server's fields
 */
export function serverHelloBytes(
  client: ParsedClientHello,
  reply: { sessionId: string; ephemeralKey: Buffer; nonce: Buffer; expiresAt: number },
): Buffer {
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
 * Builds and signs a client hello.
 *
 * @param input who calls whom, with the client's identity key and a fresh ephemeral key pair
 * @returns the message to send, and its parsed form for the rest of the handshake
 */
export function createClientHello(input: {
  clientId: string;
  serverId: string;
  /** The client's Ed25519 private key: a `KeyObject`, or PEM. */
  identityKey: KeyObject | string;
  ephemeral: EphemeralKeyPair;
  nonce?: Buffer;
  timestamp?: number;
  clientVersion?: string;
}): ParsedClientHello {
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
  const signature = sign(null, signedBytes, input.identityKey);
  return {
    hello: { ...unsigned, signature: signature.toString('base64url') },
    ephemeralKey: input.ephemeral.publicKey,
    nonce,
    signature,
    signedBytes,
  };
}

/**
 * Parses a client hello strictly: exactly the known fields, each of the right type and size.
 * It does not verify the signature.
 *
 * @param value the parsed JSON body
 * @throws {HandshakeError} naming what is wrong
 */
export function parseClientHello(value: unknown): ParsedClientHello {
  const fields = exactFields(value, CLIENT_HELLO_FIELDS, ['clientVersion'], 'client hello');
  if (fields.version !== HANDSHAKE_PROTOCOL_VERSION) {
    throw new HandshakeError(HandshakeMessages.handshakeVersion());
  }
  const hello: ClientHello = {
    version: HANDSHAKE_PROTOCOL_VERSION,
    clientId: serviceIdField(fields.clientId, 'clientId'),
    serverId: serviceIdField(fields.serverId, 'serverId'),
    ephemeralKey: base64UrlField(fields.ephemeralKey, 'ephemeralKey', HANDSHAKE_KEY_BYTES).text,
    nonce: base64UrlField(fields.nonce, 'nonce', HANDSHAKE_KEY_BYTES).text,
    timestamp: timeField(fields.timestamp, 'timestamp'),
    signature: base64UrlField(fields.signature, 'signature', ED25519_SIGNATURE_BYTES).text,
  };
  if (fields.clientVersion !== undefined) {
    if (
      typeof fields.clientVersion !== 'string' ||
      fields.clientVersion.length > MAX_CLIENT_VERSION_LENGTH ||
      !PRINTABLE.test(fields.clientVersion)
    ) {
      throw new HandshakeError(HandshakeMessages.handshakeClientVersion(MAX_CLIENT_VERSION_LENGTH));
    }
    hello.clientVersion = fields.clientVersion;
  }
  const ephemeralKey = Buffer.from(hello.ephemeralKey, 'base64url');
  const nonce = Buffer.from(hello.nonce, 'base64url');
  return {
    hello,
    ephemeralKey,
    nonce,
    signature: Buffer.from(hello.signature, 'base64url'),
    signedBytes: clientHelloBytes(hello, ephemeralKey, nonce),
  };
}

/**
 * Parses a server hello strictly. It does not verify the signature.
 *
 * @param value the parsed JSON body of the reply
 * @throws {HandshakeError} naming what is wrong
 */
export function parseServerHello(value: unknown): ParsedServerHello {
  const fields = exactFields(value, SERVER_HELLO_FIELDS, [], 'server hello');
  if (fields.version !== HANDSHAKE_PROTOCOL_VERSION) {
    throw new HandshakeError(HandshakeMessages.handshakeVersion());
  }
  if (!isSessionId(fields.sessionId))
    throw new HandshakeError(HandshakeMessages.handshakeSessionId());
  const hello: ServerHello = {
    version: HANDSHAKE_PROTOCOL_VERSION,
    sessionId: fields.sessionId,
    ephemeralKey: base64UrlField(fields.ephemeralKey, 'ephemeralKey', HANDSHAKE_KEY_BYTES).text,
    nonce: base64UrlField(fields.nonce, 'nonce', HANDSHAKE_KEY_BYTES).text,
    expiresAt: timeField(fields.expiresAt, 'expiresAt'),
    signature: base64UrlField(fields.signature, 'signature', ED25519_SIGNATURE_BYTES).text,
  };
  return {
    hello,
    ephemeralKey: Buffer.from(hello.ephemeralKey, 'base64url'),
    nonce: Buffer.from(hello.nonce, 'base64url'),
    signature: Buffer.from(hello.signature, 'base64url'),
  };
}

/**
 * Verifies an Ed25519 signature against any of the pinned keys of a service, so that a key can
 * be rotated by pinning the old and the new key for a while.
 *
 * @param data the signed bytes
 * @param signature the signature
 * @param keys the pinned public keys
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

/**
 * Signs with an Ed25519 identity key.
 *
 * @param data the bytes to sign
 * @param identityKey the private key
 */
export function signWithIdentity(data: Buffer, identityKey: KeyObject): Buffer {
  return sign(null, data, identityKey);
}

/**
 * Derives the 32-byte session key. Both sides call it with the same transcript.
 *
 * @param input own ephemeral private key, the peer's ephemeral public key, and the transcript
 * @returns the session key; the caller wipes it once stored
 * @throws {HandshakeError} when the peer's key is invalid or of low order (X25519 gives an
 *   all-zero secret, which OpenSSL refuses)
 */
export function deriveSessionKey(input: {
  ownPrivateKey: KeyObject;
  peerPublicKey: Buffer;
  client: ParsedClientHello;
  serverEphemeralKey: Buffer;
  serverNonce: Buffer;
}): Buffer {
  let shared: Buffer;
  try {
    const peer = createPublicKey({
      key: { kty: 'OKP', crv: 'X25519', x: input.peerPublicKey.toString('base64url') },
      format: 'jwk',
    });
    shared = diffieHellman({ privateKey: input.ownPrivateKey, publicKey: peer });
  } catch {
    throw new HandshakeError(HandshakeMessages.handshakeEphemeralRejected());
  }
  // OpenSSL already refuses an all-zero secret; this keeps the guarantee explicit.
  if (shared.every((byte) => byte === 0)) {
    throw new HandshakeError(HandshakeMessages.handshakeZeroSecret());
  }
  const transcriptHash = createHash('sha256')
    .update(
      encodeFields([
        KEY_SCHEDULE_LABEL,
        input.client.signedBytes,
        input.client.signature,
        input.serverEphemeralKey,
        input.serverNonce,
      ]),
    )
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

function exactFields(
  value: unknown,
  allowed: ReadonlySet<string>,
  optional: readonly string[],
  what: string,
): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new HandshakeError(HandshakeMessages.handshakeNotObject(what));
  }
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!allowed.has(key))
      throw new HandshakeError(HandshakeMessages.handshakeUnexpectedField(what));
  }
  for (const key of allowed) {
    if (!Object.hasOwn(record, key) && !optional.includes(key)) {
      throw new HandshakeError(HandshakeMessages.handshakeMissingField(what, key));
    }
  }
  return record;
}

function serviceIdField(value: unknown, name: string): string {
  if (
    typeof value !== 'string' ||
    value.length === 0 ||
    value.length > MAX_SERVICE_ID_LENGTH ||
    !PRINTABLE.test(value)
  ) {
    throw new HandshakeError(
      HandshakeMessages.handshakeServiceIdField(name, MAX_SERVICE_ID_LENGTH),
    );
  }
  return value;
}

function base64UrlField(value: unknown, name: string, bytes: number): { text: string } {
  // Canonical unpadded base64url of exactly `bytes` bytes: the decoder alone is lenient.
  const length = Math.ceil((bytes * 4) / 3);
  if (
    typeof value !== 'string' ||
    value.length !== length ||
    !/^[A-Za-z0-9_-]+$/.test(value) ||
    Buffer.from(value, 'base64url').toString('base64url') !== value
  ) {
    throw new HandshakeError(HandshakeMessages.handshakeBase64Field(name, bytes));
  }
  return { text: value };
}

function timeField(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new HandshakeError(HandshakeMessages.handshakeTimeField(name));
  }
  return value;
}
