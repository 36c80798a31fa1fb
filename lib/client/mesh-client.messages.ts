import { describeValue as describe } from '../core/describe-value.js';

/**
 * Texts of `MeshClient`: startup errors, why a call failed, and log lines.
 */
export const MeshClientMessages = {
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
} as const;
