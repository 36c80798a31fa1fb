/**
 * Texts of the handshake endpoint: what callers get and what operators read in the log.
 */
export const HandshakeEndpointMessages = {
  /** 401 for every failed handshake; the reason is only logged and audited. */
  handshakeFailed: (): string => 'Handshake failed',
  /** 429 from the handshake endpoint. */
  handshakeRateLimited: (): string => 'Too many handshakes',
  /** Log line of a failed handshake. */
  handshakeFailedLog: (peer: string, claimed: string, reason: string): string =>
    `Handshake from ${peer} (claims ${claimed}) failed: ${reason}`,
  /** Log line, at most once per interval while handshakes keep failing. */
  handshakeFailureSummary: (count: number, seconds: number, last: string): string =>
    `${count} more handshakes failed in the last ${seconds} s; the last: ${last}`,
  /** Log line (error level) when a handshake meets an error that is neither a refusal nor a store failure. */
  handshakeUnexpectedError: (error: string): string =>
    `Handshake failed on an unexpected error (answered 503): ${error}`,
} as const;
