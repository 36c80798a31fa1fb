import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { sessionOfRequest } from './request-sessions.js';
import { sessionOfCall } from './call-sessions.js';
import type { Session } from '../core/session.interface.js';

/**
 * Injects the session that `SessionGuard` validated, on an HTTP route or a gRPC method.
 * Returning it from a route is safe: its JSON form has no key.
 *
 * @example
 * ```ts
 * @UseGuards(SessionGuard)
 * @Get('me')
 * me(@CurrentSession() session: Session) { return { serviceId: session.serviceId }; }
 *
 * @UseGuards(SessionGuard)
 * @GrpcMethod('Greeter', 'Greet')
 * greet(data: GreetRequest, @CurrentSession() session: Session) { ... }
 * ```
 */
export const CurrentSession = createParamDecorator(
  (_data: unknown, context: ExecutionContext): Session | undefined =>
    context.getType() === 'rpc'
      ? sessionOfCall(context.getArgByIndex(2))
      : sessionOfRequest(context.switchToHttp().getRequest()),
);
