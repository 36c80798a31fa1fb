/**
 * Every text the library shows to callers, operators and logs, written as functions.
 * Tests and subclasses compare against these instead of copying strings.
 */
export const MeshSessionMessages = {
  /** Reading the key of a session that was removed from its store. */
  sessionKeyReleased: (): string =>
    'The session was removed from its store: its key is no longer available',
  /** 401: the request has no session header. */
  missingSessionId: (): string => 'Missing session id',
  /** 401: the session header is not a UUID. */
  invalidSessionId: (): string => 'Invalid session id',
  /** 401: no live session has this id. */
  sessionNotFound: (): string => 'Session not found or expired',
  /** 401: the session carried `metadata.revoked === true`. */
  sessionRevoked: (): string => 'Session has been revoked',
  /** 429: the service is over its rate limit. */
  rateLimited: (): string => 'Rate limit exceeded',
  /** 503: the store failed or timed out. */
  storeUnavailable: (): string => 'Session store unavailable',
  /** Log line when the guard meets a store failure. */
  storeFailed: (reason: string): string => `Session store failed: ${reason}`,
  /** The store did not answer within `storeTimeout`. */
  storeTimeout: (ms: number): string => `Session store did not answer within ${ms} ms`,
  /** Startup error for a bad module option. */
  invalidOption: (option: string, expected: string, got: unknown): string =>
    `MeshSessionModule: option "${option}" must be ${expected}; got ${describe(got)}`,
  /** TypeError for a bad argument of a public method. */
  invalidArgument: (argument: string, expected: string, got: unknown): string =>
    `Argument "${argument}" must be ${expected}; got ${describe(got)}`,
  /** Log line of the cleanup job. */
  cleanedUp: (count: number): string => `Cleaned up ${count} expired sessions`,
  /** Log line when a cleanup run fails. */
  cleanupFailed: (reason: string): string => `Session cleanup failed: ${reason}`,
  /** Log line when a monitoring adapter fails. */
  adapterFailed: (adapter: string, reason: string): string =>
    `Monitoring adapter ${adapter} failed: ${reason}`,
  /** Log line when the app runs the cleanup job without `ScheduleModule`. */
  noScheduler: (): string =>
    'ScheduleModule is not imported: the session cleanup job runs on a plain interval',

  // Redis store (issue 4)
  /** Startup error for a bad RedisSessionStore option. */
  invalidRedisOption: (option: string, expected: string, got: unknown): string =>
    `RedisSessionStore: option "${option}" must be ${expected}; got ${describe(got)}`,
  /** Startup error: not exactly one of client, url and redisOptions. */
  redisLocation: (given: readonly string[]): string =>
    `RedisSessionStore: pass exactly one of the options "client", "url" or "redisOptions"; got ${
      given.length === 0 ? 'none' : given.map((name) => `"${name}"`).join(' and ')
    }`,
  /** Startup error: ioredis is needed to create a client and is not installed. */
  ioredisMissing: (): string =>
    'RedisSessionStore needs the optional peer dependency "ioredis", which is not installed: run `npm install ioredis`',
  /** A Redis call of the store failed or timed out. */
  redisCommandFailed: (operation: string, reason: string): string =>
    `Redis session store: ${operation} failed: ${reason}`,
  /** Redis did not get ready in time on first use. */
  redisNotReady: (ms: number): string => `Redis session store: Redis was not ready within ${ms} ms`,
  /** The store was used after close(). */
  redisStoreClosed: (): string => 'Redis session store: the store is closed',
  /** Log line, once per outage, when the store's own connection fails. */
  redisConnectionLost: (reason: string): string =>
    `Redis session store: connection lost (${reason}); guarded requests answer 503 until it is back`,
  /** Log line when the connection is back after an outage. */
  redisConnectionRestored: (): string => 'Redis session store: connection restored',
  /** Log line, once, when the given client queues commands while Redis is offline. */
  redisOfflineQueue: (): string =>
    'RedisSessionStore: the given ioredis client has enableOfflineQueue on, so calls wait while Redis is offline (up to commandTimeout) instead of failing at once; create it with { enableOfflineQueue: false, maxRetriesPerRequest: 0 } for fail-fast 503s',
  /** A stored session id was already taken. */
  sessionIdCollision: (): string => 'Session id collision: a session with this id already exists',
  /** Startup error: the Redis store's cipher got the same encryption key twice. */
  cipherDuplicateKey: (): string => 'RedisSessionCipher: the same key is given twice',
  /** Why a stored value cannot be decrypted: its key is not in `encryptionKeys`. */
  cipherUnknownKey: (): string => 'no encryption key matches the stored value',
  /** Why a stored value cannot be decrypted: it is too short to hold an IV and a tag. */
  cipherTruncated: (): string => 'the stored value is truncated',
  /** Why a stored value cannot be decrypted: it, or its associated data, was altered. */
  cipherUnauthentic: (): string => 'the stored value failed authentication',
  /** Log line (rate-limited) when a stored session cannot be decrypted. */
  sessionUndecryptable: (reason: string, count: number): string =>
    `Redis session store: ${count} stored session(s) could not be decrypted (${reason}) and were treated as absent; is the key that encrypted them still in "encryptionKeys"?`,

  // Handshake (issue 3)
  /** 401 for every failed handshake; the reason is only logged and audited. */
  handshakeFailed: (): string => 'Handshake failed',
  /** 429 from the handshake endpoint. */
  handshakeRateLimited: (): string => 'Too many handshakes',
  /** Log line of a failed handshake. */
  handshakeFailedLog: (peer: string, claimed: string, reason: string): string =>
    `Handshake from ${peer} (claims ${claimed}) failed: ${reason}`,
  /** Log line (error level) when a handshake meets an error that is neither a refusal nor a store failure. */
  handshakeUnexpectedError: (error: string): string =>
    `Handshake failed on an unexpected error (answered 503): ${error}`,
  /** Startup error: forRootAsync() options configure a handshake without its routes. */
  handshakeRoutesMissing: (): string =>
    'MeshSessionModule: option "handshake" came from forRootAsync() without "handshakeRoutes: true" next to useFactory/useClass/useExisting; the routes must be known when the module is defined',
  /** Startup error: routes asked for, but no handshake configured. */
  handshakeOptionMissing: (): string =>
    'MeshSessionModule: "handshakeRoutes: true" needs the option "handshake" ({ privateKey, trustedServices })',

  // Why a handshake failed: logged and audited (server), or carried by MeshHandshakeError
  // (client); never sent to a caller, who gets the generic 401.
  /** The body is larger than the bound. */
  handshakeBodyTooLarge: (limit: number): string => `body larger than ${limit} bytes`,
  /** The request carries no body the endpoint can read. */
  handshakeNoBody: (): string => 'no readable body',
  /** The body stream failed. */
  handshakeBodyUnreadable: (): string => 'body could not be read',
  /** The body is not JSON. */
  handshakeNotJson: (): string => 'body is not valid JSON',
  /** The claimed service is not in `trustedServices`. */
  handshakeUnknownService: (): string => 'unknown service',
  /** The hello's signature matches none of the claimed service's pinned keys. */
  handshakeBadSignature: (): string =>
    'signature does not verify against the pinned keys of the service',
  /** The hello is meant for another service. */
  handshakeWrongTarget: (serverId: string): string =>
    `wrong target service ${JSON.stringify(serverId)}`,
  /** The hello's timestamp is too far from this server's clock. */
  handshakeClockSkew: (offMs: number): string => `timestamp ${offMs} ms off, beyond maxClockSkew`,
  /** The hello's nonce was seen inside the window. */
  handshakeReplayed: (): string => 'replayed handshake (nonce already seen)',
  /** The message's `version` is not one this library speaks. */
  handshakeVersion: (): string => 'unsupported protocol version',
  /** The hello's `clientVersion` is too long or not printable. */
  handshakeClientVersion: (max: number): string =>
    `clientVersion is not printable ASCII of at most ${max} characters`,
  /** The server hello's `sessionId` is not a UUID. */
  handshakeSessionId: (): string => 'sessionId is not a UUID',
  /** X25519 refused the peer's ephemeral key. */
  handshakeEphemeralRejected: (): string =>
    'ephemeral key rejected by X25519 (invalid or low-order point)',
  /** The peer's ephemeral key gives an all-zero shared secret. */
  handshakeZeroSecret: (): string => 'ephemeral key gives an all-zero X25519 secret',
  /** A handshake message is not a JSON object. */
  handshakeNotObject: (what: string): string => `${what} is not a JSON object`,
  /** A handshake message has a field the protocol does not define. */
  handshakeUnexpectedField: (what: string): string => `${what} has an unexpected field`,
  /** A handshake message lacks a required field. */
  handshakeMissingField: (what: string, field: string): string => `${what} lacks ${field}`,
  /** A service id field is empty, too long or not printable. */
  handshakeServiceIdField: (field: string, max: number): string =>
    `${field} is not printable ASCII of 1 to ${max} characters`,
  /** A binary field is not canonical base64url of the right size. */
  handshakeBase64Field: (field: string, bytes: number): string =>
    `${field} is not ${bytes} bytes of base64url`,
  /** A time field is not a non-negative integer. */
  handshakeTimeField: (field: string): string => `${field} is not a time in ms`,
  /** Client side: the server's reply is not JSON. */
  handshakeReplyNotJson: (): string => 'the reply is not JSON',
  /** Client side: the server's reply is not signed by its pinned key. */
  handshakeReplySignature: (): string =>
    'the reply signature does not verify against the pinned key',

  // Signed requests (issue 3)
  /** 401: signature mode, and the request carries no signature. */
  signatureMissing: (): string => 'Missing request signature',
  /** 401: Signature, Signature-Input or Content-Digest are not well-formed. */
  signatureMalformed: (): string => 'Malformed request signature headers',
  /** 401: the signature lacks a required component or parameter. */
  signatureIncomplete: (): string =>
    'Request signature must cover "@method", "@target-uri" (and "content-digest" with a body), with created, nonce, keyid and alg',
  /** 401: `alg` is not hmac-sha256. */
  signatureAlgorithm: (): string => 'Unsupported signature algorithm: only hmac-sha256',
  /** 401: `created` (or `expires`) is outside the allowed clock skew. */
  signatureStale: (): string => 'Request signature is outside the allowed clock skew',
  /** 401: the nonce was used before in this session. */
  signatureReplayed: (): string => 'Request nonce already used',
  /** 401: Content-Digest does not match the body. */
  digestMismatch: (): string => 'Content-Digest does not match the body',
  /** 401: the body's bytes are not available to the guard. */
  bodyUnverifiable: (): string => 'Request body cannot be verified',
  /** 401: the HMAC does not verify. */
  signatureInvalid: (): string => 'Invalid request signature',
  /** Log line, once: signature mode got a body without `req.rawBody`. */
  rawBodyMissing: (): string =>
    'Signature mode needs the raw body bytes: create the app with NestFactory.create(AppModule, { rawBody: true }) (or register a raw body parser for this content type)',

  /** TypeError from `signRequest`: no signature base can be built for this method and URL. */
  requestUnsignable: (): string => 'The request cannot be signed: bad method or URL',

  // MeshClient (issue 3)
  /** Startup error for a bad MeshClientModule option. */
  invalidClientOption: (option: string, expected: string, got: unknown): string =>
    `MeshClientModule: option "${option}" must be ${expected}; got ${describe(got)}`,
  /** The client's handshake failed. */
  clientHandshakeFailed: (serviceId: string, reason: string): string =>
    `Handshake with ${serviceId} failed: ${reason}`,
  /** A request through the client failed. */
  clientRequestFailed: (serviceId: string, method: string, path: string, reason: string): string =>
    `${method} ${path} on ${serviceId} failed: ${reason}`,
  /** Why a client call failed: the connection failed (refused, reset, DNS...). */
  clientUnreachable: (): string => 'the service cannot be reached',
  /** Why a client call failed: no answer within the client's `timeout`. */
  clientTimeout: (ms: number): string => `no answer within ${ms} ms`,
  /** Why a client call failed: the server answered this status (and this message, if any). */
  clientHttpStatus: (status: number, message?: string): string =>
    message === undefined || message === '' ? `HTTP ${status}` : `HTTP ${status}: ${message}`,
  /** Why `json()` failed on a client response. */
  clientAnswerNotJson: (): string => 'the answer is not JSON',
  /** Log line when disconnecting at shutdown fails. */
  clientDisconnectFailed: (serviceId: string, reason: string): string =>
    `Could not end the session with ${serviceId}: ${reason}`,

  // keygen command (issue 3)
  /** The command is not one the CLI knows. */
  cliUnknownCommand: (command: string): string => `Unknown command "${command}".`,
  /** `--out` came without a directory. */
  cliOutNeedsDirectory: (): string => '--out needs a directory.',
  /** An option the command does not know. */
  cliUnknownOption: (option: string): string => `Unknown option "${option}".`,
  /** keygen got no service id, several, or one unfit for a file name. */
  cliServiceIdNeeded: (): string =>
    'keygen needs one service id of letters, digits, ".", "_" or "-" (at most 255).',
  /** keygen --out could not write the files. */
  cliWriteFailed: (reason: string): string => `Could not write the key pair: ${reason}`,
} as const;

/**
 * Describes a rejected value without echoing it in full: a bad value may be a secret (a key
 * passed in the wrong argument), so only its type and size are shown.
 */
function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Buffer.isBuffer(value)) return `a Buffer of ${value.length} bytes`;
  if (typeof value === 'string') return `a string of ${value.length} characters`;
  if (typeof value === 'number') return String(value);
  if (typeof value === 'boolean' || value === undefined) return String(value);
  if (Array.isArray(value)) return 'an array';
  return `a value of type ${typeof value === 'object' ? (value.constructor?.name ?? 'object') : typeof value}`;
}
