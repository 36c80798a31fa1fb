import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { MeshClientModuleOptions } from './mesh-client.options.js';

/**
 * Extras accepted by `MeshClientModule.forRoot()` and `forRootAsync()` next to the options.
 */
export interface MeshClientModuleExtras {
  /**
   * Register the module globally, so that every module can inject `MeshClient`.
   *
   * @default false
   */
  isGlobal?: boolean;
}

/**
 * Built by `ConfigurableModuleBuilder`: the base class of `MeshClientModule` (with `forRoot` and
 * `forRootAsync`), the token of the raw options (which `MeshClient` injects), and the types of
 * what both methods accept.
 */
export const {
  ConfigurableModuleClass: MeshClientConfigurableModule,
  MODULE_OPTIONS_TOKEN: MESH_CLIENT_MODULE_OPTIONS,
  OPTIONS_TYPE: MESH_CLIENT_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: MESH_CLIENT_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<MeshClientModuleOptions>({ moduleName: 'MeshClient' })
  .setClassMethodName('forRoot')
  .setExtras<MeshClientModuleExtras>({ isGlobal: false }, (definition, extras) => ({
    ...definition,
    global: extras.isGlobal,
  }))
  .build();

/** What `MeshClientModule.forRootAsync()` accepts. */
export type MeshClientModuleAsyncOptions = typeof MESH_CLIENT_ASYNC_OPTIONS_TYPE;
