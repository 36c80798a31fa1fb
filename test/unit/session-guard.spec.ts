import { randomBytes, randomUUID } from 'node:crypto';
import { Metadata } from '@grpc/grpc-js';
import { jest } from '@jest/globals';
import type { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { SkipSession } from '../../lib/guard/skip-session.decorator.js';
import { SessionGuard } from '../../lib/guard/session.guard.js';
import { sessionOfRequest } from '../../lib/guard/request-sessions.js';
import { sessionOfCall } from '../../lib/guard/call-sessions.js';
import { RateLimiter } from '../../lib/core/rate-limiter.js';
import { SessionManager } from '../../lib/core/session-manager.js';
import { MemorySessionStore } from '../../lib/stores/memory/memory-session.store.js';
import { signRequest } from '../../lib/protocol/signing/request-signer.js';

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
    // A skipped route needs no Promise.
    expect(guard.canActivate(routeContext(OpenController, open))).toBe(true);
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

describe('SessionGuard: a check that needs no Promise', () => {
  const options = {
    sessionHeader: 'x-mesh-session-id',
    requestSigning: false,
    storeTimeout: 2_000,
  };

  /** A context for a guarded route, with `request`. */
  function guardedContext<R extends object>(request: R): { context: ExecutionContext; request: R } {
    const http = { getRequest: () => request, getResponse: () => ({ header() {} }) };
    const context = {
      getType: () => 'http',
      getHandler: () => OpenController.prototype.closed,
      getClass: () => OpenController,
      switchToHttp: () => http,
    } as unknown as ExecutionContext;
    return { context, request };
  }

  /** A context for a guarded route, whose request carries `id` in the session header. */
  function withSessionId(id: string): { context: ExecutionContext; request: object } {
    return guardedContext({ headers: { 'x-mesh-session-id': id } });
  }

  it('answers true itself for a live session on a store in this process', async () => {
    const manager = new SessionManager(new MemorySessionStore());
    const guard = new SessionGuard(manager, new Reflector(), options);
    const session = await manager.createSession('billing', randomBytes(32));
    const { context, request } = withSessionId(session.id);
    expect(guard.canActivate(context)).toBe(true);
    expect(sessionOfRequest(request)).toMatchObject({ id: session.id, serviceId: 'billing' });
    // Kept beside the request, never on it: the request object is unchanged.
    expect(request).toEqual({ headers: { 'x-mesh-session-id': session.id } });
    // Checked once: a second run (a global guard and a route's) passes without a second slide.
    const touches = jest.spyOn(manager, 'validateSessionNow');
    expect(guard.canActivate(context)).toBe(true);
    expect(touches).not.toHaveBeenCalled();
  });

  it('refuses with a rejection, never a throw', async () => {
    const guard = new SessionGuard(
      new SessionManager(new MemorySessionStore()),
      new Reflector(),
      options,
    );
    const answer = guard.canActivate(withSessionId(randomUUID()).context);
    expect(answer).toBeInstanceOf(Promise);
    await expect(answer).rejects.toThrow('Session not found or expired');
  });

  /**
   * A rate limit, or a store that answers through its Promise only, makes the guard answer with
   * a Promise of `true`, for the contexts `contextFor` makes for a session id.
   */
  async function expectPendingWhenAStepNeedsOne(
    contextFor: (id: string) => ExecutionContext,
  ): Promise<void> {
    const manager = new SessionManager(new MemorySessionStore());
    const session = await manager.createSession('billing', randomBytes(32));
    const limited = new SessionGuard(
      manager,
      new Reflector(),
      options,
      new RateLimiter({ maxRequests: 10, windowMs: 60_000 }),
    );
    const byLimit = limited.canActivate(contextFor(session.id));
    expect(byLimit).toBeInstanceOf(Promise);
    await expect(byLimit).resolves.toBe(true);

    // A manager whose store answers through its Promise only (validateSessionNow gives nothing).
    jest.spyOn(manager, 'validateSessionNow').mockReturnValue(undefined);
    const validate = jest.spyOn(manager, 'validateSession');
    const remote = new SessionGuard(manager, new Reflector(), options);
    const byStore = remote.canActivate(contextFor(session.id));
    expect(byStore).toBeInstanceOf(Promise);
    await expect(byStore).resolves.toBe(true);
    expect(validate).toHaveBeenCalledTimes(1);
  }

  it('answers with a Promise when a step needs one: a rate limit, or a store elsewhere', () =>
    expectPendingWhenAStepNeedsOne((id) => withSessionId(id).context));

  describe('in signature mode', () => {
    const signing = { ...options, requestSigning: true };

    /** A context for a GET /orders signed with `key` for session `id`. */
    function signedContext(
      id: string,
      key: Buffer,
    ): { context: ExecutionContext; request: object } {
      const headers = signRequest({
        method: 'GET',
        url: 'http://orders.internal/orders',
        sessionId: id,
        sessionKey: key,
      });
      return guardedContext({
        method: 'GET',
        url: '/orders',
        protocol: 'http',
        headers: { host: 'orders.internal', ...headers },
      });
    }

    it('answers true itself for a signed request on a store in this process', async () => {
      const manager = new SessionManager(new MemorySessionStore());
      const guard = new SessionGuard(manager, new Reflector(), signing);
      const key = randomBytes(32);
      const session = await manager.createSession('billing', key);
      const { context, request } = signedContext(session.id, key);
      expect(guard.canActivate(context)).toBe(true);
      expect(sessionOfRequest(request)).toMatchObject({ id: session.id, serviceId: 'billing' });
      // The same signed request again, as a new request: its nonce is spent.
      const replay = guard.canActivate(guardedContext({ ...request }).context);
      expect(replay).toBeInstanceOf(Promise);
      await expect(replay).rejects.toThrow('Request nonce already used');
    });

    it('refuses a forged signature with a rejection, never a throw', async () => {
      const manager = new SessionManager(new MemorySessionStore());
      const guard = new SessionGuard(manager, new Reflector(), signing);
      const session = await manager.createSession('billing', randomBytes(32));
      const answer = guard.canActivate(signedContext(session.id, randomBytes(32)).context);
      expect(answer).toBeInstanceOf(Promise);
      await expect(answer).rejects.toThrow('Invalid request signature');
    });

    it('answers with a Promise when the store answers through its Promise only', async () => {
      const manager = new SessionManager(new MemorySessionStore());
      const key = randomBytes(32);
      const session = await manager.createSession('billing', key);
      jest.spyOn(manager, 'readSessionNow').mockReturnValue(undefined);
      const read = jest.spyOn(manager, 'readSession');
      const guard = new SessionGuard(manager, new Reflector(), signing);
      const answer = guard.canActivate(signedContext(session.id, key).context);
      expect(answer).toBeInstanceOf(Promise);
      await expect(answer).resolves.toBe(true);
      expect(read).toHaveBeenCalledTimes(1);
    });
  });

  describe('on a gRPC call', () => {
    /** A context for a guarded gRPC method, whose call metadata carries `id`, if given. */
    function callContext(id?: string): { context: ExecutionContext; call: object } {
      const metadata = new Metadata();
      if (id !== undefined) metadata.set('x-mesh-session-id', id);
      const call = { getPath: () => '/orders.v1.Orders/Get', getPeer: () => 'ipv4:127.0.0.1:1' };
      const args = [{ id: 'order-1' }, metadata, call];
      const context = {
        getType: () => 'rpc',
        getHandler: () => OpenController.prototype.closed,
        getClass: () => OpenController,
        getArgByIndex: (index: number) => args[index],
      } as unknown as ExecutionContext;
      return { context, call };
    }

    it('answers true itself for a live session on a store in this process', async () => {
      const manager = new SessionManager(new MemorySessionStore());
      const guard = new SessionGuard(manager, new Reflector(), options);
      const session = await manager.createSession('billing', randomBytes(32));
      const { context, call } = callContext(session.id);
      expect(guard.canActivate(context)).toBe(true);
      expect(sessionOfCall(call)).toMatchObject({ id: session.id, serviceId: 'billing' });
      // Checked once: a second run passes without a second slide.
      const touches = jest.spyOn(manager, 'validateSessionNow');
      expect(guard.canActivate(context)).toBe(true);
      expect(touches).not.toHaveBeenCalled();
      // authenticateCall() stays a Promise for callers that await it.
      const other = callContext(session.id);
      await expect(guard.authenticateCall({ ...readCall(other), path: '/x' })).resolves.toBe(
        sessionOfCall(other.call),
      );
    });

    /** The call `canActivate` would read from a context made by `callContext`. */
    function readCall(made: { context: ExecutionContext; call: object }) {
      const { context } = made;
      return {
        message: context.getArgByIndex(0) as unknown,
        metadata: context.getArgByIndex(1) as Metadata,
        call: made.call as { getPath(): string },
        path: '/orders.v1.Orders/Get',
      };
    }

    it('refuses with a rejection carrying the gRPC status, never a throw', async () => {
      const guard = new SessionGuard(
        new SessionManager(new MemorySessionStore()),
        new Reflector(),
        options,
      );
      for (const id of [undefined, randomUUID()]) {
        const { context, call } = callContext(id);
        const answer = guard.canActivate(context);
        expect(answer).toBeInstanceOf(Promise);
        await expect(answer).rejects.toMatchObject({
          error: {
            code: 16,
            message: id === undefined ? 'Missing session id' : 'Session not found or expired',
          },
        });
        expect(sessionOfCall(call)).toBeUndefined();
      }
    });

    it('answers with a Promise when a step needs one: a rate limit, or a store elsewhere', async () => {
      const calls: object[] = [];
      await expectPendingWhenAStepNeedsOne((id) => {
        const { context, call } = callContext(id);
        calls.push(call);
        return context;
      });
      // Both checks passed, and kept their sessions with their calls.
      expect(calls.map((call) => sessionOfCall(call)?.serviceId)).toEqual(['billing', 'billing']);
    });
  });
});
