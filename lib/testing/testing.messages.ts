import { describeValue } from '../core/describe-value.js';

/**
 * Errors of the testing kit (`nestjs-mesh-session/testing`).
 */
export const TestingMessages = {
  /** `MeshTestingPeer.open` was given neither an app nor a `SessionManager`. */
  peerTargetNeeded: (got: unknown): string =>
    `MeshTestingPeer.open: expected a Nest app, a TestingModule or a SessionManager; got ${describeValue(got)}`,
  /** The app given to `MeshTestingPeer.open` provides no `SessionManager`. */
  noSessionManager: (): string =>
    'MeshTestingPeer.open: the app provides no SessionManager; import MeshSessionModule.forRoot() (or forRootAsync()) in the module under test',
  /** `sign` was given a body it cannot sign exactly as it will be sent. */
  unsignableTestBody: (contentType: string): string =>
    `MeshTestingPeer.sign: cannot sign an object body sent as "${contentType}"; send a JSON object, a string or a Buffer`,
  /** `signFetch` was given a body it cannot read before it is sent. */
  unsignableFetchBody: (got: unknown): string =>
    `MeshTestingPeer.signFetch: cannot sign a body that is ${describeValue(got)}; give a string, a Buffer or other Uint8Array, an ArrayBuffer or URLSearchParams`,
  /** `overrideSessionStore` was given something other than a store. */
  storeNeeded: (got: unknown): string =>
    `overrideSessionStore: expected an instance of a SessionStore subclass; got ${describeValue(got)}`,
} as const;
