import { Module, type DynamicModule } from '@nestjs/common';
import { MeshClient } from './mesh-client.js';
import {
  MESH_CLIENT_ASYNC_OPTIONS_TYPE,
  MESH_CLIENT_OPTIONS_TYPE,
  MeshClientConfigurableModule,
} from './mesh-client.module-definition.js';

/**
 * The client side of the mesh: provides `MeshClient`, which handshakes with the configured
 * services, over HTTP or gRPC, and signs every request.
 *
 * @example
 * ```ts
 * @Module({
 *   imports: [
 *     MeshClientModule.forRoot({
 *       serviceId: 'caller',
 *       privateKey: process.env.CALLER_PRIVATE_KEY,
 *       services: {
 *         greeter: { url: 'http://greeter:3000', publicKey: process.env.GREETER_PUBLIC_KEY },
 *         billing: {
 *           grpc: { address: 'billing:50051', protoPath: 'billing.proto', service: 'billing.v1.Billing' },
 *           publicKey: process.env.BILLING_PUBLIC_KEY,
 *         },
 *       },
 *     }),
 *   ],
 * })
 * export class AppModule {}
 * ```
 */
@Module({
  providers: [MeshClient],
  exports: [MeshClient],
})
export class MeshClientModule extends MeshClientConfigurableModule {
  /**
   * Registers the client with static options.
   *
   * @param options client options and the `isGlobal` extra
   * @throws {Error} at startup, naming the first bad option
   */
  static forRoot(options: typeof MESH_CLIENT_OPTIONS_TYPE): DynamicModule {
    return super.forRoot(options);
  }

  /**
   * Registers the client with options from a factory, class or existing provider.
   *
   * @example
   * ```ts
   * MeshClientModule.forRootAsync({
   *   inject: [ConfigService],
   *   useFactory: (config: ConfigService) => ({
   *     serviceId: 'caller',
   *     privateKey: config.getOrThrow('MESH_PRIVATE_KEY'),
   *     services: { greeter: { url: config.getOrThrow('GREETER_URL'), publicKey: config.getOrThrow('GREETER_PUBLIC_KEY') } },
   *   }),
   * });
   * ```
   */
  static forRootAsync(options: typeof MESH_CLIENT_ASYNC_OPTIONS_TYPE): DynamicModule {
    return super.forRootAsync(options);
  }
}
