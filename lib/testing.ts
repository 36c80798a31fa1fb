/*
 * `nestjs-mesh-session/testing`: helpers for your own e2e tests of an app that uses
 * MeshSessionModule. It loads neither @nestjs/testing nor supertest: it works with what your
 * tests pass it.
 */
export {
  MeshTestingPeer,
  type MeshTestingApp,
  type MeshTestingPeerOptions,
  type MeshTestingRequest,
} from './testing/mesh-testing-peer.js';
export { overrideSessionStore, type ProviderOverrides } from './testing/override-session-store.js';
export type { SignableTest } from './testing/supertest-signing.js';
export { TestingMessages } from './testing/testing.messages.js';
