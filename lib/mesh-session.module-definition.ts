import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { MeshSessionModuleOptions } from './options/mesh-session.options.js';

/**
 * Extras accepted by `forRoot()` and `forRootAsync()` next to the options.
 */
export interface MeshSessionModuleExtras {
  /**
   * Register the module globally, so that feature modules can use `SessionGuard` and inject
   * `SessionManager` without importing it.
   *
   * @default false
   */
  isGlobal?: boolean;
}

/**
 * Built by `ConfigurableModuleBuilder`: the base class of `MeshSessionModule` (with `forRoot` and
 * `forRootAsync`), the token of the raw options, and the types of what both methods accept.
 */
export const {
  ConfigurableModuleClass: MeshSessionConfigurableModule,
  MODULE_OPTIONS_TOKEN: MESH_SESSION_MODULE_OPTIONS,
  OPTIONS_TYPE: MESH_SESSION_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: MESH_SESSION_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<MeshSessionModuleOptions>({ moduleName: 'MeshSession' })
  .setClassMethodName('forRoot')
  .setExtras<MeshSessionModuleExtras>({ isGlobal: false }, (definition, extras) => ({
    ...definition,
    global: extras.isGlobal,
  }))
  .build();

/** What `MeshSessionModule.forRootAsync()` accepts. */
export type MeshSessionModuleAsyncOptions = typeof MESH_SESSION_ASYNC_OPTIONS_TYPE;
