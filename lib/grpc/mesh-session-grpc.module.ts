import { Module } from '@nestjs/common';
import { HandshakeService } from '../handshake/handshake.service.js';
import { GrpcMessages } from './grpc.messages.js';
import { MeshHandshakeController } from './mesh-handshake.controller.js';
import { MESH_GRPC_HANDSHAKE } from './mesh-session-grpc.constants.js';

/**
 * Serves the handshake over gRPC (`mesh_session.v1.MeshHandshake`, see
 * {@link MeshHandshakeController}) next to the app's own gRPC services, with the identities,
 * replay cache and limits of `MeshSessionModule`'s `handshake` option. Start the gRPC server with
 * `meshGrpcOptions()`, which loads the handshake's proto beside the app's.
 *
 * `MeshSessionModule` must be global (`isGlobal: true`) and have the `handshake` option: the
 * app fails at startup, saying which, otherwise.
 *
 * @example
 * ```ts
 * @Module({
 *   imports: [
 *     MeshSessionModule.forRoot({ isGlobal: true, serviceId: 'greeter', handshake: { privateKey, trustedServices } }),
 *     MeshSessionGrpcModule,
 *   ],
 *   controllers: [GreeterController],
 * })
 * export class AppModule {}
 *
 * const app = await NestFactory.create(AppModule);
 * app.connectMicroservice(meshGrpcOptions({ url: '0.0.0.0:50051', package: 'greeter.v1', protoPath }));
 * await app.startAllMicroservices();
 * ```
 */
@Module({
  controllers: [MeshHandshakeController],
  providers: [
    {
      provide: MESH_GRPC_HANDSHAKE,
      useFactory: requireHandshakeService,
      inject: [{ token: HandshakeService, optional: true }],
    },
  ],
})
export class MeshSessionGrpcModule {}

/**
 * The handshake service of `MeshSessionModule`, or a startup error saying what is missing.
 *
 * @throws {Error} without a global `MeshSessionModule`, or without its `handshake` option
 */
function requireHandshakeService(
  handshakes: HandshakeService | null | undefined,
): HandshakeService {
  if (handshakes === undefined) throw new Error(GrpcMessages.moduleMissing());
  if (handshakes === null) throw new Error(GrpcMessages.handshakeMissing());
  return handshakes;
}
