/**
 * Texts of the Redis session store: startup errors, failures and log lines.
 */
export const RedisStoreMessages = {
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
} as const;
