import { SetMetadata, type CustomDecorator } from '@nestjs/common';
import { SKIP_SESSION_KEY } from './session-guard.constants.js';

/**
 * Exempts a route or a whole controller from `SessionGuard`, typically when the guard is
 * global through `APP_GUARD`.
 *
 * @example
 * ```ts
 * @SkipSession()
 * @Get('health')
 * check() { ... }
 * ```
 */
export const SkipSession = (skip = true): CustomDecorator<string> =>
  SetMetadata(SKIP_SESSION_KEY, skip);
