/**
 * Texts of `MeshClient`: why a call failed, and log lines. Its option errors are the shared
 * `OptionMessages`.
 *
 * @example
 * ```ts
 * MeshClientMessages.clientHandshakeFailed('greeter', MeshClientMessages.clientTimeout(5_000));
 * // 'Handshake with greeter failed: no answer within 5000 ms'
 * ```
 */
export const MeshClientMessages = {
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
} as const;
