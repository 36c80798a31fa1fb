import { Module, type DynamicModule } from '@nestjs/common';
import { MeshClientModule } from 'nestjs-mesh-session';
import { HelloController } from './hello.controller.js';
import { sampleIdentities } from './sample-identities.js';

/**
 * The sample "caller" service: `GET /hello?name=World` calls the greeter's `greet` through
 * `MeshClient` (handshake with pinned keys, then signed requests).
 */
@Module({})
export class CallerModule {
  /**
   * @param greeterUrl where the greeter listens, such as `http://127.0.0.1:3000`
   */
  static forRoot(greeterUrl: string): DynamicModule {
    return {
      module: CallerModule,
      imports: [
        MeshClientModule.forRoot({
          serviceId: 'caller',
          privateKey: sampleIdentities.caller.privateKey,
          services: {
            greeter: { url: greeterUrl, publicKey: sampleIdentities.greeter.publicKey },
          },
          timeout: 5_000,
        }),
      ],
      controllers: [HelloController],
    };
  }
}
