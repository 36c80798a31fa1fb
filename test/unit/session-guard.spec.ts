import type { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { SkipSession } from '../../lib/guard/skip-session.decorator.js';
import { SessionGuard } from '../../lib/guard/session.guard.js';
import { SessionManager } from '../../lib/core/session-manager.js';
import { MemorySessionStore } from '../../lib/stores/memory/memory-session.store.js';

/** A context for one route, with a request that carries no session header. */
function routeContext(controller: object, handler: object): ExecutionContext {
  const http = { getRequest: () => ({ headers: {} }), getResponse: () => ({ header() {} }) };
  return {
    getType: () => 'http',
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
  const manager = new SessionManager(new MemorySessionStore());
  const guard = new SessionGuard(manager, new Reflector(), {
    sessionHeader: 'x-mesh-session-id',
    requestSigning: false,
    storeTimeout: 2_000,
  });
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

  it.each(['rpc', 'ws', 'graphql'])(
    'refuses a %s handler with an error naming its type, leaving the payload untouched',
    async (type) => {
      const payload = Object.freeze({ headers: { 'x-mesh-session-id': 'anything' } });
      const context = {
        getType: () => type,
        getHandler: () => OpenController.prototype.closed,
        getClass: () => OpenController,
        switchToHttp: () => ({ getRequest: () => payload, getResponse: () => payload }),
        switchToRpc: () => ({ getData: () => payload }),
        getArgs: () => [payload],
        getArgByIndex: (index: number) => [payload][index],
      } as unknown as ExecutionContext;
      await expect(guard.canActivate(context)).rejects.toThrow(
        `SessionGuard supports HTTP and gRPC handlers only; it cannot check a "${type}" handler`,
      );
      expect(payload).toEqual({ headers: { 'x-mesh-session-id': 'anything' } });
      expect(Object.keys(payload)).toEqual(['headers']);
    },
  );
});
