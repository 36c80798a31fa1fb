import { Controller, Inject, UseGuards } from '@nestjs/common';
import type { Metadata, ServerUnaryCall } from '@grpc/grpc-js';
import { GrpcMethod } from '@nestjs/microservices';
import type { Session } from '../core/session.interface.js';
import { CurrentSession } from '../guard/current-session.decorator.js';
import { SessionGuard } from '../guard/session.guard.js';
import { SessionStoreUnavailableException } from '../guard/session.exceptions.js';
import { SkipSession } from '../guard/skip-session.decorator.js';
import { HandshakeService } from '../handshake/handshake.service.js';
import { MESH_HANDSHAKE_SERVICE } from '../protocol/grpc/handshake-proto.js';
import { isUndecodableMessage, messageBytesOf } from '../protocol/grpc/message-bytes.js';
import { MAX_HANDSHAKE_BODY_BYTES } from '../protocol/handshake/handshake.constants.js';
import { HandshakeError } from '../protocol/handshake/handshake.error.js';
import type { ServerHello } from '../protocol/handshake/handshake-hello.interface.js';
import { HandshakeMessages } from '../protocol/handshake/handshake.messages.js';
import { CLIENT_HELLO_FIELD_NAMES } from '../protocol/handshake/hello-codec.js';
import { grpcPeerAddress } from './grpc-peer-address.js';
import { GrpcMessages } from './grpc.messages.js';
import { handshakeRpcException } from './handshake-rpc-exception.js';
import { MESH_GRPC_HANDSHAKE } from './mesh-session-grpc.constants.js';

/**
 * The handshake over gRPC: `mesh_session.v1.MeshHandshake` (`proto/mesh_handshake.proto`),
 * the same protocol, pinned identities, replay cache and limits as the HTTP endpoint.
 * `MeshSessionGrpcModule` registers it; `meshGrpcOptions()` loads its proto.
 *
 * | call | answer |
 * |---|---|
 * | `Open` with a valid hello | the signed `ServerHello` |
 * | `Open` with anything else | UNAUTHENTICATED `Handshake failed` (the reason is only logged and audited) |
 * | `Open` over a limit | RESOURCE_EXHAUSTED `Too many handshakes`, `retry-after` trailer |
 * | `Open` when the store fails | UNAVAILABLE, `retry-after: 1` trailer |
 * | signed `Close` | `{ ended }`; the guard's answers otherwise |
 *
 * @example
 * ```ts
 * // Registered by MeshSessionGrpcModule; a client calls
 * // /mesh_session.v1.MeshHandshake/Open with its ClientHello.
 * ```
 */
@Controller()
export class MeshHandshakeController {
  /** @param handshakes the server side of the handshake */
  constructor(@Inject(MESH_GRPC_HANDSHAKE) protected readonly handshakes: HandshakeService) {}

  /**
   * Runs the server side of one handshake. Exempt from a global `SessionGuard`: the caller has
   * no session yet.
   *
   * @param message the decoded `ClientHello`
   * @param _metadata the call's metadata (unused: the hello carries everything)
   * @param call the server call, for the peer address the rate limit keys on
   * @returns the signed server hello
   * @throws {RpcException} UNAUTHENTICATED, RESOURCE_EXHAUSTED or UNAVAILABLE, as above
   */
  @SkipSession()
  @GrpcMethod(MESH_HANDSHAKE_SERVICE, 'Open')
  async open(
    message: unknown,
    _metadata: Metadata,
    call: Pick<ServerUnaryCall<unknown, unknown>, 'getPeer'>,
  ): Promise<ServerHello> {
    try {
      return await this.handshakes.accept(helloOf(message), {
        address: grpcPeerAddress(call.getPeer()),
        transport: 'grpc',
      });
    } catch (error) {
      throw handshakeRpcException(error);
    }
  }

  /**
   * Ends the session the call is signed with, as the HTTP endpoint's signed `DELETE` does.
   *
   * @param session the session `SessionGuard` checked
   * @returns whether the session was still there
   * @throws {RpcException} the guard's refusals; UNAVAILABLE with `retry-after: 1` when the
   *   store fails
   */
  @UseGuards(SessionGuard)
  @GrpcMethod(MESH_HANDSHAKE_SERVICE, 'Close')
  async close(@CurrentSession() session: Session | undefined): Promise<{ ended: boolean }> {
    // Only reachable without a session through a custom guard that let the call through.
    if (session === undefined) return { ended: false };
    try {
      return { ended: await this.handshakes.end(session) };
    } catch {
      throw handshakeRpcException(new SessionStoreUnavailableException());
    }
  }
}

/**
 * The proto `ClientHello` as the JSON hello `HandshakeService` parses: its fields by the same
 * names, absent ones left out, so that the strict parser sees what was sent.
 */
function helloOf(message: unknown): object | HandshakeError {
  if (isUndecodableMessage(message) || typeof message !== 'object' || message === null) {
    return new HandshakeError(GrpcMessages.helloUndecodable());
  }
  // The bound of the HTTP endpoint: a real hello is a few hundred bytes either way.
  if ((messageBytesOf(message)?.length ?? 0) > MAX_HANDSHAKE_BODY_BYTES) {
    return new HandshakeError(HandshakeMessages.handshakeBodyTooLarge(MAX_HANDSHAKE_BODY_BYTES));
  }
  const fields = message as Record<string, unknown>;
  const hello: Record<string, unknown> = {};
  for (const name of CLIENT_HELLO_FIELD_NAMES) {
    if (fields[name] !== undefined && fields[name] !== null) hello[name] = fields[name];
  }
  return hello;
}
