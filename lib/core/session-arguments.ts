import { MAX_SERVICE_ID_LENGTH, SESSION_KEY_LENGTH } from './session.constants.js';
import { SessionMessages } from './session.messages.js';

const MAX_METADATA_DEPTH = 16;

/**
 * Checks a remote service id argument.
 *
 * @param serviceId the value given
 * @throws {TypeError} unless it is a non-empty string of at most 255 characters
 */
export function assertServiceId(serviceId: unknown): asserts serviceId is string {
  if (
    typeof serviceId !== 'string' ||
    serviceId.length === 0 ||
    serviceId.length > MAX_SERVICE_ID_LENGTH
  ) {
    throw new TypeError(
      SessionMessages.invalidArgument(
        'serviceId',
        `a non-empty string of at most ${MAX_SERVICE_ID_LENGTH} characters`,
        serviceId,
      ),
    );
  }
}

/**
 * Checks a session key argument.
 *
 * @param sessionKey the value given
 * @throws {TypeError} unless it is a Buffer of exactly 32 bytes
 */
export function assertSessionKey(sessionKey: unknown): asserts sessionKey is Buffer {
  if (!Buffer.isBuffer(sessionKey) || sessionKey.length !== SESSION_KEY_LENGTH) {
    throw new TypeError(
      SessionMessages.invalidArgument('sessionKey', 'a Buffer of exactly 32 bytes', sessionKey),
    );
  }
}

/**
 * Deep-copies a plain JSON object, so the stored metadata cannot change behind the store's
 * back, and refuses anything JSON cannot carry faithfully.
 *
 * @param value the metadata given
 * @param argument the argument's name, for errors
 * @returns a frozen deep copy
 * @throws {TypeError} naming the path of the first value JSON cannot carry
 */
export function copyMetadata(value: unknown, argument: string): Record<string, unknown> {
  if (!isPlainObject(value)) {
    throw new TypeError(
      SessionMessages.invalidArgument(argument, 'a plain JSON-serialisable object', value),
    );
  }
  return copyJson(value, argument, 0) as Record<string, unknown>;
}

function copyJson(value: unknown, path: string, depth: number): unknown {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (Number.isFinite(value)) return value;
  } else if (depth < MAX_METADATA_DEPTH) {
    if (Array.isArray(value)) {
      return Object.freeze(value.map((item, i) => copyJson(item, `${path}[${i}]`, depth + 1)));
    }
    if (isPlainObject(value)) {
      const copy: Record<string, unknown> = {};
      for (const key of Object.keys(value)) {
        // Stored metadata is merged with object spread later, where "__proto__" is unsafe.
        if (key === '__proto__') {
          throw new TypeError(
            SessionMessages.invalidArgument(`${path}.__proto__`, 'absent', value[key]),
          );
        }
        copy[key] = copyJson(value[key], `${path}.${key}`, depth + 1);
      }
      // Frozen: a session handed out must not be a way to change what is stored.
      return Object.freeze(copy);
    }
  }
  throw new TypeError(
    SessionMessages.invalidArgument(
      path,
      'a JSON value (finite number, string, boolean, null, array or plain object)',
      value,
    ),
  );
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}
