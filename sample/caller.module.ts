import { Module, type DynamicModule } from '@nestjs/common';
import { MeshClientModule } from 'nestjs-mesh-session';
import { GREETER_PROTO } from './greeting.js';
import { HelloController } from './hello.controller.js';
import { sampleIdentities } from './sample-identities.js';

/**
 * The sample "caller" service: `GET /hello?name=World` calls the greeter's `greet` over HTTP,
 * and `GET /hello/grpc?name=World` its `Greet` over gRPC, both through `MeshClient` (handshake
 * with pinned keys, then signed calls).
 */
@Module({})
export class CallerModule {
  /**
   * @param greeterUrl where the greeter's HTTP server listens, such as `http://127.0.0.1:3000`
   * @param greeterGrpcAddress where its gRPC server listens, such as `127.0.0.1:50051`
   */
  static forRoot(greeterUrl: string, greeterGrpcAddress: string): DynamicModule {
    const publicKey = sampleIdentities.greeter.publicKey;
    return {
      module: CallerModule,
      imports: [
        MeshClientModule.forRoot({
          serviceId: 'caller',
          privateKey: sampleIdentities.caller.privateKey,
          services: {
            greeter: { url: greeterUrl, publicKey },
            'greeter-grpc': {
              grpc: {
                address: greeterGrpcAddress,
                protoPath: GREETER_PROTO,
                service: 'greeter.v1.Greeter',
              },
              publicKey,
              // The same greeter, reached over gRPC under a second key.
              serviceId: 'greeter',
            },
          },
          timeout: 5_000,
        }),
      ],
      controllers: [HelloController],
    };
  }
}
