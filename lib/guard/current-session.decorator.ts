import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { SESSION_REQUEST_PROPERTY } from './session-guard.constants.js';
import type { Session } from '../core/session.interface.js';

/**
 * Injects the session that `SessionGuard` validated. Returning it from a route is safe: its
 * JSON form has no key.
 *
 * @example
 * ```ts
 * @UseGuards(SessionGuard)
 * @Get('me')
 * me(@CurrentSession() session: Session) { return { serviceId: session.serviceId }; }
 * ```
 */
export const CurrentSession = createParamDecorator(
  (_data: unknown, context: ExecutionContext): Session | undefined =>
    context.switchToHttp().getRequest<Record<string, Session | undefined>>()[
      SESSION_REQUEST_PROPERTY
    ],
);
