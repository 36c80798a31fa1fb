import { isSessionId } from '../../core/session-id.js';
import {
  ED25519_SIGNATURE_BYTES,
  HANDSHAKE_KEY_BYTES,
  HANDSHAKE_PROTOCOL_VERSION,
} from './handshake.constants.js';
import { HandshakeError } from './handshake.error.js';
import type {
  ClientHello,
  ParsedClientHello,
  ParsedServerHello,
  ServerHello,
} from './handshake-hello.interface.js';
import { HandshakeMessages } from './handshake.messages.js';
import {
  base64UrlField,
  clientVersionField,
  exactFields,
  serviceIdField,
  timeField,
  versionField,
} from './hello-fields.js';
import { clientHelloBytes } from './transcript-encoding.js';

/** The fields of a client hello, whichever transport carries it (`clientVersion` optional). */
export const CLIENT_HELLO_FIELD_NAMES = Object.freeze([
  'version',
  'clientId',
  'serverId',
  'ephemeralKey',
  'nonce',
  'timestamp',
  'clientVersion',
  'signature',
] as const);

const CLIENT_HELLO_FIELDS = new Set<string>(CLIENT_HELLO_FIELD_NAMES);
const SERVER_HELLO_FIELDS = new Set([
  'version',
  'sessionId',
  'ephemeralKey',
  'nonce',
  'expiresAt',
  'signature',
]);

/**
 * Parses a client hello strictly: exactly the known fields, each of the right type and size.
 * It does not verify the signature.
 *
 * @param value the parsed JSON body
 * @returns the hello, its decoded binary fields and the bytes its signature covers
 * @throws {HandshakeError} naming what is wrong
 * @example
 * ```ts
 * const client = parseClientHello(JSON.parse(body));
 * ```
 */
export function parseClientHello(value: unknown): ParsedClientHello {
  const fields = exactFields(value, CLIENT_HELLO_FIELDS, ['clientVersion'], 'client hello');
  versionField(fields.version);
  const hello: ClientHello = {
    version: HANDSHAKE_PROTOCOL_VERSION,
    clientId: serviceIdField(fields.clientId, 'clientId'),
    serverId: serviceIdField(fields.serverId, 'serverId'),
    ephemeralKey: base64UrlField(fields.ephemeralKey, 'ephemeralKey', HANDSHAKE_KEY_BYTES),
    nonce: base64UrlField(fields.nonce, 'nonce', HANDSHAKE_KEY_BYTES),
    timestamp: timeField(fields.timestamp, 'timestamp'),
    signature: base64UrlField(fields.signature, 'signature', ED25519_SIGNATURE_BYTES),
  };
  if (fields.clientVersion !== undefined) {
    hello.clientVersion = clientVersionField(fields.clientVersion);
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
 * @returns the hello and its decoded binary fields
 * @throws {HandshakeError} naming what is wrong
 * @example
 * ```ts
 * const reply = parseServerHello(JSON.parse(text));
 * ```
 */
export function parseServerHello(value: unknown): ParsedServerHello {
  const fields = exactFields(value, SERVER_HELLO_FIELDS, [], 'server hello');
  versionField(fields.version);
  if (!isSessionId(fields.sessionId))
    throw new HandshakeError(HandshakeMessages.handshakeSessionId());
  const hello: ServerHello = {
    version: HANDSHAKE_PROTOCOL_VERSION,
    sessionId: fields.sessionId,
    ephemeralKey: base64UrlField(fields.ephemeralKey, 'ephemeralKey', HANDSHAKE_KEY_BYTES),
    nonce: base64UrlField(fields.nonce, 'nonce', HANDSHAKE_KEY_BYTES),
    expiresAt: timeField(fields.expiresAt, 'expiresAt'),
    signature: base64UrlField(fields.signature, 'signature', ED25519_SIGNATURE_BYTES),
  };
  return {
    hello,
    ephemeralKey: Buffer.from(hello.ephemeralKey, 'base64url'),
    nonce: Buffer.from(hello.nonce, 'base64url'),
    signature: Buffer.from(hello.signature, 'base64url'),
  };
}
