import type { DynamicModule, Provider } from '@nestjs/common';
import { PATH_METADATA } from '@nestjs/common/constants.js';
import { MESH_SESSION_OPTIONS } from '../mesh-session.constants.js';
import { HandshakeEndpointMessages } from './handshake-endpoint.messages.js';
import type { ResolvedMeshSessionOptions } from '../options/mesh-session.options.js';
import { createHandshakeController } from './handshake.controller.js';
import { HandshakeService } from './handshake.service.js';

/**
 * Token of the provider that checks, at startup, that the handshake routes and the `handshake`
 * option agree, and gives the controller its path.
 */
export const MESH_HANDSHAKE_ROUTES = Symbol('MESH_HANDSHAKE_ROUTES');

/**
 * Adds the handshake endpoint to a `MeshSessionModule` definition. Routes must be declared when
 * the module is defined, while `handshake.path` may come from an async factory, so the
 * controller's path is set once the options are resolved, before Nest registers routes.
 *
 * @param module the module definition from the builder
 * @param enabled whether to serve the handshake: `forRoot` passes whether `handshake` is set,
 *   `forRootAsync` its `handshakeRoutes` extra
 * @returns the definition, with the controller and `HandshakeService` when enabled
 */
export function withHandshakeRoutes(module: DynamicModule, enabled: boolean): DynamicModule {
  const providers = [...(module.providers ?? [])];
  if (!enabled) {
    const check: Provider = {
      provide: MESH_HANDSHAKE_ROUTES,
      useFactory: (options: ResolvedMeshSessionOptions) => {
        if (options.handshake !== undefined) {
          throw new Error(HandshakeEndpointMessages.handshakeRoutesMissing());
        }
        return null;
      },
      inject: [MESH_SESSION_OPTIONS],
    };
    return { ...module, providers: [...providers, check] };
  }
  const controller = createHandshakeController();
  const route: Provider = {
    provide: MESH_HANDSHAKE_ROUTES,
    useFactory: (options: ResolvedMeshSessionOptions) => {
      if (options.handshake === undefined) {
        throw new Error(HandshakeEndpointMessages.handshakeOptionMissing());
      }
      Reflect.defineMetadata(PATH_METADATA, options.handshake.path, controller);
      return options.handshake.path;
    },
    inject: [MESH_SESSION_OPTIONS],
  };
  return {
    ...module,
    controllers: [...(module.controllers ?? []), controller],
    providers: [...providers, route, HandshakeService],
    exports: [...(module.exports ?? []), HandshakeService],
  };
}

/**
 * The extra that `MeshSessionModule.forRootAsync()` takes next to its factory.
 */
export interface MeshSessionHandshakeRoutesExtra {
  /**
   * Serve the handshake endpoint. Routes are fixed when the module is defined, before an async
   * factory runs, so `forRootAsync` needs to know up front; its `handshake.path` still comes
   * from the factory. Startup fails when this and the `handshake` option disagree.
   *
   * @default false
   */
  handshakeRoutes?: boolean;
}
