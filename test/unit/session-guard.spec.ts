import type { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { SkipSession } from '../../lib/guard/skip-session.decorator.js';
import { SessionGuard } from '../../lib/guard/session.guard.js';
import { SessionManager } from '../../lib/core/session-manager.js';

/** A context for one route, with a request that carries no session header. */
function routeContext(controller: object, handler: object): ExecutionContext {
  const http = { getRequest: () => ({ headers: {} }), getResponse: () => ({ header() {} }) };
  return {
    getHandler: () => handler,
    getClass: () => controller,
    switchToHttp: () => http,
  } as unknown as ExecutionContext;
}

class OpenController {
  @SkipSession()
  open(): void {}

  closed(): void {}
}

// Inherits `closed` (the same handler function) but is public as a whole.
@SkipSession()
class PublicController extends OpenController {}

describe('SessionGuard: @SkipSession()', () => {
  const manager = new SessionManager({ cleanupInterval: false });
  const guard = new SessionGuard(manager, new Reflector(), manager.options);
  const skipped = (controller: object, handler: object): boolean =>
    guard['isSkipped'](routeContext(controller, handler));

  it('reads the handler, then the controller, and remembers each pair on its own', () => {
    const { open, closed } = OpenController.prototype;
    for (let round = 0; round < 2; round++) {
      expect(skipped(OpenController, open)).toBe(true);
      expect(skipped(OpenController, closed)).toBe(false);
      // One handler function on two controllers: the controller's own metadata decides.
      expect(skipped(PublicController, closed)).toBe(true);
    }
  });

  it('lets a skipped route through and refuses the others without a session', async () => {
    const { open, closed } = OpenController.prototype;
    await expect(guard.canActivate(routeContext(OpenController, open))).resolves.toBe(true);
    await expect(guard.canActivate(routeContext(OpenController, closed))).rejects.toThrow(
      'Missing session id',
    );
  });
});
