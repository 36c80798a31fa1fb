import { MAX_SERVICE_ID_LENGTH } from '../../core/session.constants.js';
import { HANDSHAKE_PROTOCOL_VERSION, MAX_CLIENT_VERSION_LENGTH } from './handshake.constants.js';
import { HandshakeError } from './handshake.error.js';
import { HandshakeMessages } from './handshake.messages.js';

/*
 * The field checks of both hellos. Each refuses anything but the one canonical form, so that a
 * message has exactly one encoding and its signed bytes can be rebuilt from what was parsed.
 */

// Printable ASCII only: ids and versions end up in logs and audit events.
const PRINTABLE = /^[\x20-\x7e]+$/;

/**
 * Requires a JSON object with exactly the allowed fields, optional ones aside.
 *
 * @param value the parsed JSON
 * @param allowed every field the message may have
 * @param optional the allowed fields it may lack
 * @param what the message's name, for the reason
 * @returns the object
 * @throws {HandshakeError} on a non-object, an unknown field or a missing one
 * @example
 * ```ts
 * const fields = exactFields(body, new Set(['version', 'nonce']), [], 'server hello');
 * ```
 */
export function exactFields(
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

/**
 * Requires the protocol version this library speaks.
 *
 * @param value the `version` field
 * @throws {HandshakeError} on any other value
 * @example
 * ```ts
 * versionField(fields.version);
 * ```
 */
export function versionField(value: unknown): void {
  if (value !== HANDSHAKE_PROTOCOL_VERSION) {
    throw new HandshakeError(HandshakeMessages.handshakeVersion());
  }
}

/**
 * A service id: printable ASCII of 1 to `MAX_SERVICE_ID_LENGTH` characters.
 *
 * @param value the field
 * @param name the field's name, for the reason
 * @returns the id
 * @throws {HandshakeError} when it is not one
 * @example
 * ```ts
 * const clientId = serviceIdField(fields.clientId, 'clientId');
 * ```
 */
export function serviceIdField(value: unknown, name: string): string {
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

/**
 * Canonical unpadded base64url of exactly `bytes` bytes. The decoder alone is lenient (it
 * skips bad characters and ignores stray low bits), which would give one value many spellings.
 *
 * @param value the field
 * @param name the field's name, for the reason
 * @param bytes the decoded size
 * @returns the text, unchanged
 * @throws {HandshakeError} when it is not canonical or not of that size
 * @example
 * ```ts
 * const nonce = base64UrlField(fields.nonce, 'nonce', 32);
 * ```
 */
export function base64UrlField(value: unknown, name: string, bytes: number): string {
  const length = Math.ceil((bytes * 4) / 3);
  if (
    typeof value !== 'string' ||
    value.length !== length ||
    !/^[A-Za-z0-9_-]+$/.test(value) ||
    Buffer.from(value, 'base64url').toString('base64url') !== value
  ) {
    throw new HandshakeError(HandshakeMessages.handshakeBase64Field(name, bytes));
  }
  return value;
}

/**
 * A time in ms since the epoch: a non-negative safe integer.
 *
 * @param value the field
 * @param name the field's name, for the reason
 * @returns the time
 * @throws {HandshakeError} when it is not one
 * @example
 * ```ts
 * const timestamp = timeField(fields.timestamp, 'timestamp');
 * ```
 */
export function timeField(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new HandshakeError(HandshakeMessages.handshakeTimeField(name));
  }
  return value;
}

/**
 * The client's software version: printable ASCII of at most `MAX_CLIENT_VERSION_LENGTH`
 * characters.
 *
 * @param value the field
 * @returns the version
 * @throws {HandshakeError} when it is not one
 * @example
 * ```ts
 * hello.clientVersion = clientVersionField(fields.clientVersion);
 * ```
 */
export function clientVersionField(value: unknown): string {
  if (
    typeof value !== 'string' ||
    value.length > MAX_CLIENT_VERSION_LENGTH ||
    !PRINTABLE.test(value)
  ) {
    throw new HandshakeError(HandshakeMessages.handshakeClientVersion(MAX_CLIENT_VERSION_LENGTH));
  }
  return value;
}
