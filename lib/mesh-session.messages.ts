/**
 * Every text the library shows to callers, operators and logs, written as functions.
 * Tests and subclasses compare against these instead of copying strings.
 */
export const MeshSessionMessages = {
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
  /** Log line (rate-limited) when a stored session cannot be decrypted. */
  sessionUndecryptable: (reason: string, count: number): string =>
    `Redis session store: ${count} stored session(s) could not be decrypted (${reason}) and were treated as absent; is the key that encrypted them still in "encryptionKeys"?`,

  // Handshake (issue 3)
  /** 401 for every failed handshake; the reason is only logged and audited. */
  handshakeFailed: (): string => 'Handshake failed',
  /** 429 from the handshake endpoint. */
  handshakeRateLimited: (): string => 'Too many handshakes',
  /** Log line (error level) when a handshake meets an error that is neither a refusal nor a store failure. */
  handshakeUnexpectedError: (error: string): string =>
    `Handshake failed on an unexpected error (answered 503): ${error}`,
  /** Log line of a failed handshake. */
  handshakeFailedLog: (peer: string, claimed: string, reason: string): string =>
    `Handshake from ${peer} (claims ${claimed}) failed: ${reason}`,
  /** Startup error: forRootAsync() options configure a handshake without its routes. */
  handshakeRoutesMissing: (): string =>
    'MeshSessionModule: option "handshake" came from forRootAsync() without "handshakeRoutes: true" next to useFactory/useClass/useExisting; the routes must be known when the module is defined',
  /** Startup error: routes asked for, but no handshake configured. */
  handshakeOptionMissing: (): string =>
    'MeshSessionModule: "handshakeRoutes: true" needs the option "handshake" ({ privateKey, trustedServices })',

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
  /** Log line when disconnecting at shutdown fails. */
  clientDisconnectFailed: (serviceId: string, reason: string): string =>
    `Could not end the session with ${serviceId}: ${reason}`,
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
