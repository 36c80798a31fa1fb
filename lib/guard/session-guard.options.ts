/**
 * Injection token of {@link SessionGuardOptions}; `MeshSessionModule` provides it from its own
 * options.
 */
export const SESSION_GUARD_OPTIONS = Symbol('SESSION_GUARD_OPTIONS');

/**
 * What `SessionGuard` needs to know, resolved from the module options.
 *
 * @example
 * ```ts
 * { provide: SESSION_GUARD_OPTIONS, useValue: { sessionHeader: 'x-mesh-session-id', requestSigning: false, storeTimeout: 2_000 } }
 * ```
 */
export interface SessionGuardOptions {
  /** Lower-case name of the header that carries the session id in session-id mode. */
  readonly sessionHeader: string;
  /** Signature mode: every request must be signed with its session key. */
  readonly requestSigning: boolean;
  /** How long a store call may take before the guard answers 503 (ms). */
  readonly storeTimeout: number;
}
