import type { ExecutionContext } from '@nestjs/common';
import type { Reflector } from '@nestjs/core';
import { SKIP_SESSION_KEY } from './session-guard.constants.js';

/**
 * Which routes `@SkipSession()` exempts, read through the `Reflector` once per handler and
 * controller, then remembered: route metadata is fixed once the app runs, and the lookup walks
 * prototype chains on every call.
 */
export class SkippedRoutes {
  /** By handler, then controller. */
  private readonly skipped = new WeakMap<object, WeakMap<object, boolean>>();

  /** @param reflector reads `@SkipSession()` */
  constructor(private readonly reflector: Reflector) {}

  /**
   * @param context the handler's execution context
   * @returns whether the handler or its controller has `@SkipSession()`
   */
  has(context: ExecutionContext): boolean {
    const handler = context.getHandler();
    const controller = context.getClass();
    let byController = this.skipped.get(handler);
    let skipped = byController?.get(controller);
    if (skipped === undefined) {
      skipped =
        this.reflector.getAllAndOverride<boolean | undefined>(SKIP_SESSION_KEY, [
          handler,
          controller,
        ]) === true;
      if (byController === undefined) {
        byController = new WeakMap();
        this.skipped.set(handler, byController);
      }
      byController.set(controller, skipped);
    }
    return skipped;
  }
}
